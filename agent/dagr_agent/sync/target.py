"""The recipient's database (SQLAlchemy Core): the synchronised tables and ``dagr_sync_state``.

Crash safety: a feed page is applied in ONE transaction together with the update of the
dataset's cursor in ``dagr_sync_state``. After a crash the connector resumes from the stored
cursor; the page it was applying is read again and applied again from scratch (it was rolled
back as a whole). Applying a page is idempotent anyway: for every key of the page only its
last change counts — a deletion deletes the row, anything else upserts the record's last
state (``INSERT … ON CONFLICT DO UPDATE`` on PostgreSQL and SQLite, ``ON DUPLICATE KEY
UPDATE`` on MariaDB/MySQL).

Invariant: a NULL cursor means "start from the beginning of the feed" and the table is then
empty (a reset empties the table in the same transaction; where DDL is not transactional —
MariaDB — the cursor is cleared and committed *before* the table is dropped and created, and a
schema digest that does not match forces the drop again on the next start).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .client import SyncError
from .schema import ColumnDef, TableDef

log = logging.getLogger("dagr.sync")

STATE_TABLE = "dagr_sync_state"
MARKER = "_dagr_change_id"
SYNCED_AT = "_dagr_synced_at"

Converter = Callable[[Any], Any]


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def engine_create(url: str) -> Engine:
    kwargs: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    return sa.create_engine(url, **kwargs)


class Target:
    def __init__(self, url: str) -> None:
        try:
            self.engine = engine_create(url)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise SyncError(f"target.url: {exc}") from None
        self.dialect = self.engine.dialect.name
        self.metadata = sa.MetaData()
        self.state = sa.Table(
            STATE_TABLE,
            self.metadata,
            sa.Column("dataset", sa.String(200), primary_key=True),
            sa.Column("table_name", sa.String(200), nullable=False),
            sa.Column("cursor", sa.Text, nullable=True),
            sa.Column("schema_digest", sa.String(64), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        )
        self._tables: dict[str, tuple[sa.Table, dict[str, Converter], Converter]] = {}
        self._statements_cache: dict[str, tuple[Any, Any]] = {}

    def close(self) -> None:
        self.engine.dispose()

    # --- types --------------------------------------------------------------------------------
    def _now(self) -> datetime:
        now = datetime.now(UTC)
        return now if self.dialect == "postgresql" else now.replace(tzinfo=None)

    def _sql_type(self, column: ColumnDef) -> sa.types.TypeEngine[Any]:
        match column.type:
            case "string":
                return sa.String(255) if column.key else sa.Text()
            case "integer":
                return sa.BigInteger()
            case "decimal":
                return sa.Numeric(38, 10)
            case "boolean":
                return sa.Boolean()
            case "date":
                return sa.Date()
            case "datetime":
                return sa.DateTime(timezone=True)
            case _:
                return sa.JSON()

    def _converter(self, kind: str) -> Converter | None:
        aware = self.dialect == "postgresql"
        match kind:
            case "integer":
                return int
            case "decimal":
                if self.dialect == "sqlite":
                    return float
                return lambda v: Decimal(str(v))
            case "boolean":
                return bool
            case "date":
                return date.fromisoformat
            case "datetime":

                def to_datetime(v: str) -> datetime:
                    parsed = datetime.fromisoformat(v).astimezone(UTC)
                    return parsed if aware else parsed.replace(tzinfo=None)

                return to_datetime
            case "string":
                return lambda v: v if isinstance(v, str) else str(v)
            case _:
                return None

    def table(self, tdef: TableDef) -> sa.Table:
        return self._table(tdef)[0]

    def _table(self, tdef: TableDef) -> tuple[sa.Table, dict[str, Converter], Converter]:
        cached = self._tables.get(tdef.digest)
        if cached is not None:
            return cached
        metadata = sa.MetaData()
        columns = [
            sa.Column(c.name, self._sql_type(c), primary_key=c.key, autoincrement=False)
            for c in tdef.columns
        ]
        columns += [
            sa.Column(MARKER, sa.BigInteger, nullable=False),
            sa.Column(SYNCED_AT, sa.DateTime(timezone=True), nullable=False),
        ]
        table = sa.Table(tdef.table, metadata, *columns)
        converters = {
            c.name: conv for c in tdef.columns if (conv := self._converter(c.type)) is not None
        }
        key_conv = self._converter(tdef.key_type) or str
        self._tables[tdef.digest] = (table, converters, key_conv)
        return table, converters, key_conv

    # --- preparing ---------------------------------------------------------------------------
    def _state_row(self, conn: Connection, code: str) -> Any:
        return conn.execute(sa.select(self.state).where(self.state.c.dataset == code)).first()

    def _columns_of(self, name: str) -> set[str] | None:
        inspector = sa.inspect(self.engine)
        if not inspector.has_table(name):
            return None
        return {c["name"] for c in inspector.get_columns(name)}

    def _drop_ours(self, name: str) -> None:
        columns = self._columns_of(name)
        if columns is None:
            return
        if MARKER not in columns:
            raise SyncError(
                f"table {name} exists in the target database and was not made by dagr sync; "
                "choose another datasets[].table or remove it"
            )
        with self.engine.begin() as conn:
            sa.Table(name, sa.MetaData()).drop(conn)

    def prepare(self, tdef: TableDef) -> str | None:
        """Make the table and the state row right for ``tdef``; return the cursor to resume
        from (``None``: from the beginning)."""
        with self.engine.begin() as conn:
            self.state.create(conn, checkfirst=True)
            row = self._state_row(conn, tdef.dataset)
        exists = self._columns_of(tdef.table) is not None
        if row is not None and row.schema_digest == tdef.digest and exists:
            return row.cursor
        if row is None:
            if self._columns_of(tdef.table) is not None:
                log.warning(
                    "%s: table %s has no sync state: reloading it", tdef.dataset, tdef.table
                )
            self._drop_ours(tdef.table)
            with self.engine.begin() as conn:
                self.table(tdef).create(conn)
                conn.execute(
                    sa.insert(self.state).values(
                        dataset=tdef.dataset,
                        table_name=tdef.table,
                        cursor=None,
                        schema_digest=tdef.digest,
                        updated_at=self._now(),
                    )
                )
            log.info("%s: created table %s", tdef.dataset, tdef.table)
            return None
        log.warning(
            "%s: the table layout changed (granted fields or schema): dropping %s and "
            "reloading from the beginning",
            tdef.dataset,
            tdef.table,
        )
        self._recreate(tdef)
        return None

    def _recreate(self, tdef: TableDef) -> None:
        # 1. forget the cursor (committed first: DDL is not transactional everywhere)
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(self.state)
                .where(self.state.c.dataset == tdef.dataset)
                .values(cursor=None, updated_at=self._now())
            )
        # 2. a fresh table; 3. record the layout it has now
        self._drop_ours(tdef.table)
        with self.engine.begin() as conn:
            self.table(tdef).create(conn)
            conn.execute(
                sa.update(self.state)
                .where(self.state.c.dataset == tdef.dataset)
                .values(table_name=tdef.table, schema_digest=tdef.digest, updated_at=self._now())
            )

    def reload(self, tdef: TableDef) -> None:
        """Start again from the beginning (``409 cursor_outdated``): empty the table and clear
        the cursor in one transaction, or recreate the table when its layout changed."""
        with self.engine.begin() as conn:
            row = self._state_row(conn, tdef.dataset)
        if row is None or row.schema_digest != tdef.digest or self._columns_of(tdef.table) is None:
            self.prepare(tdef)
            return
        with self.engine.begin() as conn:
            conn.execute(sa.delete(self.table(tdef)))
            conn.execute(
                sa.update(self.state)
                .where(self.state.c.dataset == tdef.dataset)
                .values(cursor=None, updated_at=self._now())
            )

    def cursor(self, code: str) -> str | None:
        with self.engine.connect() as conn:
            row = self._state_row(conn, code)
        return None if row is None else row.cursor

    # --- applying ----------------------------------------------------------------------------
    def _statements(self, tdef: TableDef) -> tuple[Any, Any]:
        """The upsert (insert, or replace every column of the row with that key) and the
        delete-by-key statement for ``tdef``'s table, in the target's dialect."""
        cached = self._statements_cache.get(tdef.digest)
        if cached is not None:
            return cached
        table = self.table(tdef)
        others = [c.name for c in table.columns if c.name != tdef.key]
        upsert: Any
        if self.dialect in ("postgresql", "sqlite"):
            from sqlalchemy.dialects import postgresql, sqlite

            module = postgresql if self.dialect == "postgresql" else sqlite
            upsert = module.insert(table)
            upsert = upsert.on_conflict_do_update(
                index_elements=[tdef.key], set_={n: upsert.excluded[n] for n in others}
            )
        elif self.dialect in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql

            upsert = mysql.insert(table)
            upsert = upsert.on_duplicate_key_update({n: upsert.inserted[n] for n in others})
        else:
            upsert = None  # any other database: delete the page's keys, then insert
        delete = sa.delete(table).where(table.c[tdef.key] == sa.bindparam("_key"))
        self._statements_cache[tdef.digest] = (upsert, delete)
        return upsert, delete

    def apply(self, tdef: TableDef, changes: list[dict[str, Any]], next_cursor: str) -> int:
        """Apply one feed page and store ``next_cursor``, all in one transaction: for each key
        of the page its last change wins — a deletion deletes the row, anything else writes
        the row (an upsert: insert, or replace every column)."""
        table, converters, key_conv = self._table(tdef)
        upsert, delete = self._statements(tdef)
        last: dict[str, dict[str, Any]] = {}
        for change in changes:
            last[change["key"]] = change
        now = self._now()
        names = [c.name for c in tdef.columns]
        rows: list[dict[str, Any]] = []
        deleted: list[dict[str, Any]] = []
        for key, change in last.items():
            record = change.get("record")
            if change["operation"] == "deleted" or record is None:
                deleted.append({"_key": key_conv(key)})
                continue
            row: dict[str, Any] = {}
            for name in names:
                value = record.get(name)
                if value is not None:
                    conv = converters.get(name)
                    if conv is not None:
                        value = conv(value)
                row[name] = value
            row[MARKER] = change["id"]
            row[SYNCED_AT] = now
            rows.append(row)
        with self.engine.begin() as conn:
            if upsert is None:
                deleted += [{"_key": row[tdef.key]} for row in rows]
            # One statement per key (executemany): always the primary-key index, whatever
            # plan the database caches for a prepared statement.
            if deleted:
                conn.execute(delete, deleted)
            if rows:
                conn.execute(upsert if upsert is not None else sa.insert(table), rows)
            conn.execute(
                sa.update(self.state)
                .where(self.state.c.dataset == tdef.dataset)
                .values(cursor=next_cursor, updated_at=now)
            )
        return len(changes)
