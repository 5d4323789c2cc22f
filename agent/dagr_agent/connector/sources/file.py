"""The ``file`` source: CSV, XLSX, JSON and NDJSON files read through the one parser of DAGR's
data files (``dagr_agent.parsing``, the same as the portal's uploads).

Options (exactly one of ``path``, ``url``, ``sftp``)::

    path: /srv/exports/persons-*.csv   # a file, a directory (its .csv/.xlsx/.json/.ndjson/.jsonl
                                       # files) or a glob; files are read in name order
    url: https://data.example.lv/persons.csv
    sftp:
      host: sftp.example.lv
      port: 22
      username: dagr
      path: /exports/persons-*.csv     # a file or a glob in one directory
      host_key: "ssh-ed25519 AAAA…"    # the server's public key (required: no blind trust)
    format: auto                       # auto | csv | xlsx | json | ndjson
    encoding: auto                     # auto | utf-8 | windows-1257 (CSV)
    delimiter: auto                    # auto | , | ; | tab | | (CSV)
    list_fields: [addresses]           # columns holding a JSON list as text
    max_bytes: 4294967296              # the largest download accepted
    allow_internal: false              # URL/SFTP hosts on private/loopback addresses

Secrets (SFTP): ``password`` or ``private_key`` (OpenSSH/PEM text). Downloads go to a
temporary file first (the XLSX reader needs to seek); rows are parsed as a stream and handed
on in batches, so memory stays flat.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any

from ... import netguard, parsing
from .base import Column, SourceError, batched, infer_columns, mask, ordered_after, source_error
from .fetch import Fetcher

SUFFIXES = (".csv", ".xlsx", ".json", ".ndjson", ".jsonl")
SAMPLE_ROWS = 200
DEFAULT_MAX_BYTES = 4 * 1024**3


class FileSource:
    def __init__(self, options: Mapping[str, object], secrets: Mapping[str, str]) -> None:
        self._secrets = dict(secrets)
        given = [k for k in ("path", "url", "sftp") if options.get(k)]
        if len(given) != 1:
            raise SourceError("a file source needs exactly one of path, url or sftp")
        self._kind = given[0]
        self._options = options
        self._format = str(options.get("format") or "auto")
        if self._format not in ("auto", *parsing.FORMATS):
            raise SourceError(f"format must be auto or one of {', '.join(parsing.FORMATS)}")
        self._encoding = str(options.get("encoding") or "auto")
        delimiter = str(options.get("delimiter") or "auto")
        self._delimiter = "\t" if delimiter == "tab" else delimiter
        list_fields = options.get("list_fields") or []
        if not isinstance(list_fields, list):
            raise SourceError("list_fields must be a list of column names")
        self._list_fields = frozenset(str(f) for f in list_fields)
        self._max_bytes = int(str(options.get("max_bytes") or DEFAULT_MAX_BYTES))
        self._allow_internal = bool(options.get("allow_internal", False))
        self._sftp: Any = None
        self._transport: Any = None
        if self._kind == "sftp":
            spec = options["sftp"]
            if not isinstance(spec, Mapping) or not all(
                spec.get(k) for k in ("host", "username", "path")
            ):
                raise SourceError("sftp needs host, username and path")
            if not spec.get("host_key"):
                raise SourceError("sftp needs host_key: the server's public key")
            self._sftp_spec = spec

    def __repr__(self) -> str:
        where = self._options.get(self._kind)
        if isinstance(where, Mapping):
            where = f"sftp://{where.get('host')}{where.get('path')}"
        return f"<FileSource {mask(str(where), self._secrets)}>"

    # --- where the files are ------------------------------------------------------------------

    def _names(self) -> list[str]:
        if self._kind == "path":
            path = str(self._options["path"])
            if os.path.isdir(path):
                found = [str(p) for p in Path(path).iterdir() if p.suffix.lower() in SUFFIXES]
            else:
                found = glob.glob(path)
            if not found:
                raise SourceError(f"no file matches {path}")
            return sorted(found)
        if self._kind == "url":
            return [str(self._options["url"])]
        sftp = self._sftp_client()
        pattern = PurePosixPath(str(self._sftp_spec["path"]))
        try:
            entries = sftp.listdir(str(pattern.parent))
        except OSError as exc:
            raise source_error(exc, self._secrets, f"cannot list {pattern.parent}") from None
        found = [str(pattern.parent / e) for e in entries if fnmatch.fnmatch(e, pattern.name)]
        if not found:
            raise SourceError(f"no file matches {pattern}")
        return sorted(found)

    @contextmanager
    def _opened(self, name: str) -> Iterator[IO[bytes]]:
        if self._kind == "path":
            try:
                handle = open(name, "rb")  # noqa: SIM115 (closed below)
            except OSError as exc:
                raise source_error(exc, self._secrets, f"cannot open {name}") from None
            with handle:
                yield handle
            return
        with tempfile.TemporaryFile(prefix="dagr-file-") as spool:
            if self._kind == "url":
                Fetcher(allow_internal=self._allow_internal).download(name, spool, self._max_bytes)
            else:
                self._sftp_get(name, spool)
            yield spool

    def _sftp_client(self) -> Any:
        if self._sftp is not None:
            return self._sftp
        try:
            import paramiko
        except ImportError:
            raise SourceError("SFTP needs paramiko: pip install 'dagr-agent[sftp]'") from None
        spec = self._sftp_spec
        host, port = str(spec["host"]), int(str(spec.get("port") or 22))
        try:
            address = netguard.checked_addresses(host, port, allow_internal=self._allow_internal)
        except netguard.AddressError as exc:
            raise SourceError(str(exc)) from None
        import socket

        try:
            sock = socket.create_connection((address[0], port), timeout=30)
            transport = paramiko.Transport(sock)
            transport.start_client(timeout=30)
            key = transport.get_remote_server_key()
            expected = str(spec["host_key"]).split()
            if len(expected) < 2 or [key.get_name(), key.get_base64()] != expected[:2]:
                transport.close()
                raise SourceError(f"the SFTP server {host} did not show the configured host_key")
            if self._secrets.get("private_key"):
                transport.auth_publickey(str(spec["username"]), self._private_key(paramiko))
            else:
                transport.auth_password(str(spec["username"]), self._secrets.get("password", ""))
            self._transport = transport
            self._sftp = paramiko.SFTPClient.from_transport(transport)
        except SourceError:
            raise
        except Exception as exc:
            raise source_error(exc, self._secrets, f"SFTP to {host} failed") from None
        return self._sftp

    def _private_key(self, paramiko: Any) -> Any:
        import io

        text = self._secrets["private_key"]
        for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
            try:
                return cls.from_private_key(io.StringIO(text))
            except Exception:  # noqa: S112 (try the next key type)
                continue
        raise SourceError("the private_key secret is not a key paramiko can read")

    def _sftp_get(self, name: str, into: IO[bytes]) -> None:
        sftp = self._sftp_client()
        try:
            size = sftp.stat(name).st_size or 0
            if size > self._max_bytes:
                raise SourceError(f"{name} is larger than {self._max_bytes} bytes")
            sftp.getfo(name, into)
        except SourceError:
            raise
        except Exception as exc:
            raise source_error(exc, self._secrets, f"cannot download {name}") from None
        into.seek(0)

    # --- rows -----------------------------------------------------------------------------------

    def _rows(self) -> Iterator[dict[str, object]]:
        for name in self._names():
            with self._opened(name) as stream:
                try:
                    for _number, record in parsing.read_rows(
                        stream,
                        filename=name,
                        fmt=self._format,
                        encoding=self._encoding,
                        delimiter=self._delimiter,
                        list_fields=self._list_fields,
                    ):
                        if not isinstance(record, dict):
                            raise SourceError(f"{name}: row {_number} is not an object")
                        yield record
                except parsing.FileError as exc:
                    raise SourceError(f"{os.path.basename(name)}: {exc}") from None

    def columns(self) -> list[Column]:
        sample: list[dict[str, object]] = []
        for row in self._rows():
            sample.append(row)
            if len(sample) >= SAMPLE_ROWS:
                break
        return infer_columns(sample)

    def read(
        self,
        *,
        cursor_column: str | None = None,
        after: object | None = None,
        batch_size: int = 5000,
    ) -> Iterator[list[dict[str, object]]]:
        if cursor_column:
            yield from ordered_after(self._rows(), cursor_column, after, batch_size)
        else:
            yield from batched(self._rows(), batch_size)

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
        if self._transport is not None:
            self._transport.close()
        self._sftp = self._transport = None
