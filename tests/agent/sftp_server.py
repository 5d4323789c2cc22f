"""A small real SFTP server for the file source's tests: paramiko's server side serving one
local directory (read-only) on a loopback port, password or public-key login, in threads."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Any

import paramiko

USER = "dagr"


class _Auth(paramiko.ServerInterface):
    def __init__(self, password: str, key: paramiko.PKey | None) -> None:
        self.password, self.key = password, key

    def check_auth_password(self, username: str, password: str) -> int:
        ok = username == USER and password == self.password
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == USER and self.key is not None and key == self.key
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username: str) -> str:
        return "password,publickey"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return (
            paramiko.OPEN_SUCCEEDED
            if kind == "session"
            else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        )


class _Handle(paramiko.SFTPHandle):
    pass


def _sftp_for(root: Path) -> type[paramiko.SFTPServerInterface]:
    class Files(paramiko.SFTPServerInterface):
        def _local(self, path: str) -> str:
            return str(root / path.lstrip("/"))

        def list_folder(self, path: str) -> Any:
            local = self._local(path)
            out = []
            for name in sorted(os.listdir(local)):
                attr = paramiko.SFTPAttributes.from_stat(os.stat(os.path.join(local, name)))
                attr.filename = name
                out.append(attr)
            return out

        def stat(self, path: str) -> Any:
            try:
                return paramiko.SFTPAttributes.from_stat(os.stat(self._local(path)))
            except OSError as exc:
                return paramiko.SFTPServer.convert_errno(exc.errno)

        lstat = stat

        def open(self, path: str, flags: int, attr: Any) -> Any:
            try:
                handle = _Handle(flags)
                handle.readfile = open(self._local(path), "rb")  # noqa: SIM115
                return handle
            except OSError as exc:
                return paramiko.SFTPServer.convert_errno(exc.errno)

    return Files


class SftpServer:
    """``with SftpServer(root, password=…) as server:`` — ``server.port``, ``server.host_key``
    (the ``"ssh-ed25519 AAAA…"`` line a client must expect)."""

    def __init__(self, root: Path, *, password: str, client_key: paramiko.PKey | None = None):
        self.root, self.password, self.client_key = root, password, client_key
        self._key = paramiko.Ed25519Key.from_private_key_file(str(self._make_key(root)))
        self.host_key = f"{self._key.get_name()} {self._key.get_base64()}"
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(5)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._transports: list[paramiko.Transport] = []

    @staticmethod
    def _make_key(root: Path) -> Path:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        path = root.parent / "host_key"
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        return path

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            transport = paramiko.Transport(conn)
            transport.add_server_key(self._key)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _sftp_for(self.root))
            transport.start_server(server=_Auth(self.password, self.client_key))
            self._transports.append(transport)

    def __enter__(self) -> SftpServer:
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for transport in self._transports:
            transport.close()
        self._sock.close()
