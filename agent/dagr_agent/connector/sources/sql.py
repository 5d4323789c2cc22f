"""The ``sql`` source: a table or a query of any database SQLAlchemy reaches (PostgreSQL,
MariaDB/MySQL and SQLite drivers installed; MS SQL and Oracle through the ``[mssql]`` and
``[oracle]`` extras).

Options::

    url: postgresql+psycopg://reader@db.example.lv:5432/register   # no password in it
    table: persons            # or: query: "SELECT … FROM …"   (one of the two)
    schema: public            # for a table, optional
    children:                 # optional: nested lists, one child query per batch
      addresses:
        query: "SELECT person_id, street, city FROM addresses WHERE person_id IN :keys"
        key: person_id        # the child rows' column holding the parent's key
        parent_key: id        # the parent rows' column it refers to
    allow_internal: true      # the database host may be a private/loopback address

Secrets: ``password``. Memory stays flat: rows are streamed from a server-side cursor
(``stream_results``: a named cursor on PostgreSQL, an unbuffered cursor on MariaDB/MySQL) in
batches of ``batch_size``; child queries run on a second connection (an unbuffered MySQL
cursor allows no other statement on its own connection).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from ... import netguard
from .base import Column, SourceError, infer_columns, source_error

SAMPLE_ROWS = 200

_TYPES: tuple[tuple[type[Any], str], ...] = (
    (sa.Boolean, "boolean"),
    (sa.Integer, "integer"),
    (sa.Numeric, "number"),
    (sa.Float, "number"),
    (sa.DateTime, "datetime"),
    (sa.Date, "date"),
    (sa.JSON, "json"),
)


def _column_type(sql_type: Any) -> str:
    for cls, name in _TYPES:
        if isinstance(sql_type, cls):
            return name
    return "string"


class SqlSource:
    def __init__(self, options: Mapping[str, object], secrets: Mapping[str, str]) -> None:
        self._secrets = dict(secrets)
        url_text = str(options.get("url") or "")
        table = options.get("table")
        query = options.get("query")
        if bool(table) == bool(query):
            raise SourceError("a sql source needs exactly one of table or query")
        try:
            url = make_url(url_text)
        except Exception as exc:
            raise source_error(exc, self._secrets, "the database URL is not valid") from None
        if url.password:
            raise SourceError("put the password in the secrets, not in the database URL")
        if secrets.get("password") and not url.get_backend_name().startswith("sqlite"):
            url = url.set(password=secrets["password"])  # (SQLite has no password)
        if url.host and not url.get_backend_name().startswith("sqlite"):
            try:
                netguard.checked_addresses(
                    url.host,
                    url.port or 0,
                    allow_internal=bool(options.get("allow_internal", False)),
                )
            except netguard.AddressError as exc:
                raise SourceError(f"the database host is not allowed: {exc}") from None
        self._schema = str(options["schema"]) if options.get("schema") else None
        self._table_name = str(table) if table else None
        self._query = str(query) if query else None
        self._children = self._children_parse(options.get("children"))
        try:
            self._engine: Engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2)
        except Exception as exc:
            raise source_error(exc, self._secrets, "the database cannot be opened") from None
        self._table: sa.Table | None = None

    def __repr__(self) -> str:
        return f"<SqlSource {self._engine.url!r} {self._table_name or 'query'}>"

    @staticmethod
    def _children_parse(value: object) -> dict[str, tuple[str, str, str]]:
        if not value:
            return {}
        if not isinstance(value, Mapping):
            raise SourceError("children must map a field name to {query, key, parent_key}")
        children: dict[str, tuple[str, str, str]] = {}
        for field, spec in value.items():
            if not isinstance(spec, Mapping) or not all(
                spec.get(k) for k in ("query", "key", "parent_key")
            ):
                raise SourceError(f"children.{field} needs query, key and parent_key")
            if ":keys" not in str(spec["query"]):
                raise SourceError(f"children.{field}.query must use IN :keys")
            children[str(field)] = (str(spec["query"]), str(spec["key"]), str(spec["parent_key"]))
        return children

    def _reflected(self) -> sa.Table:
        if self._table is None:
            assert self._table_name is not None
            self._table = sa.Table(
                self._table_name, sa.MetaData(), schema=self._schema, autoload_with=self._engine
            )
        return self._table

    def _base(self) -> tuple[sa.Select[Any], Any]:
        """The select of every row and a function giving a column expression by name."""
        if self._table_name:
            table = self._reflected()
            return sa.select(table), lambda name: table.c[name]
        assert self._query is not None
        quote = self._engine.dialect.identifier_preparer.quote
        select: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(
            sa.text(f"({self._query}) src")
        )
        return select, lambda name: sa.literal_column(quote(name))

    def columns(self) -> list[Column]:
        children = [Column(field, "json") for field in self._children]
        try:
            if self._table_name:
                table = [Column(c.name, _column_type(c.type)) for c in self._reflected().columns]
                return table + children  # a table's nested lists come from child queries too
            select, _col = self._base()
            with self._engine.connect() as conn:
                result = conn.execute(select.limit(SAMPLE_ROWS))
                names = list(result.keys())
                rows = [dict(r._mapping) for r in result]
        except SourceError:
            raise
        except Exception as exc:
            raise source_error(exc, self._secrets, "the source cannot be read") from None
        found = {c.name: c for c in infer_columns(rows)}
        columns = [found.get(n, Column(n, "string")) for n in names]
        return columns + children

    def read(
        self,
        *,
        cursor_column: str | None = None,
        after: object | None = None,
        batch_size: int = 5000,
    ) -> Iterator[list[dict[str, object]]]:
        try:
            select, col = self._base()
            if cursor_column:
                expr = col(cursor_column)
                if after is not None:
                    select = select.where(expr > sa.bindparam("after", after))
                select = select.order_by(expr)
            with self._engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                    select
                )
                children_conn = self._engine.connect() if self._children else None
                names = list(result.keys())
                try:
                    for part in result.partitions(batch_size):
                        # dict(zip()) over the plain tuples: about twice as fast as Row._mapping
                        batch: list[dict[str, object]] = [
                            dict(zip(names, r, strict=True)) for r in part
                        ]
                        if children_conn is not None:
                            self._attach(children_conn, batch)
                        yield batch
                finally:
                    if children_conn is not None:
                        children_conn.close()
                    result.close()
        except SourceError:
            raise
        except GeneratorExit:
            raise
        except Exception as exc:
            raise source_error(exc, self._secrets, "the source cannot be read") from None

    def _attach(self, conn: sa.Connection, batch: list[dict[str, object]]) -> None:
        for field, (query, key, parent_key) in self._children.items():
            keys = list({row[parent_key] for row in batch if row.get(parent_key) is not None})
            grouped: dict[object, list[dict[str, object]]] = {}
            if keys:
                statement = sa.text(query).bindparams(sa.bindparam("keys", expanding=True))
                for child in conn.execute(statement, {"keys": keys}):
                    values = dict(child._mapping)
                    grouped.setdefault(values[key], []).append(values)
            for row in batch:
                row[field] = grouped.get(row.get(parent_key), [])

    def close(self) -> None:
        self._engine.dispose()
