"""The sandbox's app database: the world written into PostgreSQL as the pass Culture backend stores it.

`write_snapshot` replaces the tables' content with a world snapshot through
COPY, so writing the world at T1 then at T2 leaves exactly the rows that
changed with a newer `dateUpdated`. The tables are those the app source reads
(`ingestion.sources.app_db.TABLES`); their columns follow the backend's
(camelCase, quoted).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime

import sqlalchemy as sa

from ingestion.sources.app_db import CURSORS, TABLES

TS = "timestamp without time zone"

# Table -> columns, following the pass Culture backend (camelCase, quoted).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "user": [
        ("id", "bigint primary key"),
        ("email", "text not null"),
        ("firstName", "text"),
        ("lastName", "text"),
        ("phoneNumber", "text"),
        ("dateOfBirth", "date"),
        ("civility", "text"),
        ("activity", "text"),
        ("address", "text"),
        ("postalCode", "text"),
        ("city", "text"),
        ("departementCode", "text"),
        ("roles", "text"),
        ("isActive", "boolean"),
        ("dateCreated", TS),
        ("dateUpdated", TS),
    ],
    "deposit": [
        ("id", "bigint primary key"),
        ("userId", "bigint not null"),
        ("type", "text"),
        ("amount", "numeric(10,2)"),
        ("source", "text"),
        ("dateCreated", TS),
        ("expirationDate", TS),
        ("dateUpdated", TS),
    ],
    "offerer": [
        ("id", "bigint primary key"),
        ("siren", "text"),
        ("name", "text"),
        ("postalCode", "text"),
        ("city", "text"),
        ("dateCreated", TS),
        ("validationStatus", "text"),
        ("dateUpdated", TS),
    ],
    "venue": [
        ("id", "bigint primary key"),
        ("managingOffererId", "bigint not null"),
        ("siret", "text"),
        ("name", "text"),
        ("venueTypeCode", "text"),
        ("isVirtual", "boolean"),
        ("postalCode", "text"),
        ("city", "text"),
        ("departementCode", "text"),
        ("latitude", "numeric(8,5)"),
        ("longitude", "numeric(8,5)"),
        ("dateCreated", TS),
        ("dateUpdated", TS),
    ],
    "offer": [
        ("id", "bigint primary key"),
        ("venueId", "bigint not null"),
        ("subcategoryId", "text"),
        ("name", "text"),
        ("description", "text"),
        ("isDuo", "boolean"),
        ("extraData", "jsonb"),
        ("validation", "text"),
        ("isActive", "boolean"),
        ("lastValidationType", "text"),
        ("lastValidationDate", TS),
        ("dateCreated", TS),
        ("dateUpdated", TS),
    ],
    "stock": [
        ("id", "bigint primary key"),
        ("offerId", "bigint not null"),
        ("price", "numeric(10,2)"),
        ("quantity", "integer"),
        ("beginningDatetime", TS),
        ("dateCreated", TS),
        ("dnBookedQuantity", "integer"),
        ("dateUpdated", TS),
    ],
    "booking": [
        ("id", "bigint primary key"),
        ("userId", "bigint not null"),
        ("depositId", "bigint"),
        ("stockId", "bigint not null"),
        ("venueId", "bigint"),
        ("offererId", "bigint"),
        ("quantity", "integer"),
        ("amount", "numeric(10,2)"),
        ("token", "text"),
        ("status", "text"),
        ("dateCreated", TS),
        ("dateUsed", TS),
        ("cancellationDate", TS),
        ("cancellationReason", "text"),
        ("dateUpdated", TS),
    ],
}
if set(COLUMNS) != set(TABLES):
    raise RuntimeError(
        f"the sandbox must write exactly the tables the app source reads: {sorted(set(COLUMNS) ^ set(TABLES))}"
    )


def _csv_value(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):  # the world's times are UTC; a timestamp column ignores the offset
        return value.isoformat() + ("" if value.tzinfo else "+00:00")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return "\\x" + value.hex()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def create_tables(
    engine: sa.Engine,
    tables: dict[str, list[tuple[str, str]]] = COLUMNS,
    indexes: dict[str, tuple[str, ...]] | None = None,
) -> None:
    """Create the tables (and an index on each incremental cursor) when missing."""
    indexes = {t: (c,) for t, c in CURSORS.items()} if indexes is None else indexes
    with engine.begin() as conn:
        for table, columns in tables.items():
            cols = ", ".join(f'"{name}" {kind}' for name, kind in columns)
            conn.execute(sa.text(f'create table if not exists public."{table}" ({cols})'))
            for column in indexes.get(table, ()):
                conn.execute(
                    sa.text(f'create index if not exists "{table}_{column}_idx" on public."{table}" ("{column}")')
                )


class _CsvStream(io.TextIOBase):
    """Rows as COPY's CSV, made as PostgreSQL reads them: a table is never held whole in memory."""

    def __init__(self, rows: Iterable[dict], names: list[str]) -> None:
        self._rows, self._names = iter(rows), names
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")
        self._pending = ""
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        want = 1 << 62 if size is None or size < 0 else size
        while len(self._pending) < want:
            self._buffer.seek(0)
            self._buffer.truncate()
            for row in self._rows:  # about 64 KiB of CSV at a time
                self._writer.writerow([_csv_value(row.get(name)) for name in self._names])
                self.count += 1
                if self._buffer.tell() >= _COPY_CHUNK:
                    break
            chunk = self._buffer.getvalue()
            if not chunk:
                break
            self._pending += chunk
        out, self._pending = self._pending[:want], self._pending[want:]
        return out

    def readline(self, size: int | None = -1) -> str:  # psycopg2 reads with read(); here for completeness
        return self.read(size)


_COPY_CHUNK = 1 << 16


def replace_rows(
    engine: sa.Engine,
    tables: dict[str, list[tuple[str, str]]],
    rows: Mapping[str, Iterable[dict]],
    reset_sequences: bool = False,
) -> dict[str, int]:
    """Replace every table's rows, through COPY, in one transaction; returns row counts.

    Each table's rows are read once, as COPY consumes them, so `rows` may hold lazy iterators
    (`World.snapshot_rows`). `reset_sequences` moves serial id sequences past the copied ids, as
    the application's own inserts would need.
    """
    counts = {}
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            for table, columns in tables.items():
                names = [name for name, _ in columns]
                stream = _CsvStream(rows[table], names)
                cur.execute(f'truncate table public."{table}"')
                col_list = ", ".join(f'"{n}"' for n in names)
                cur.copy_expert(
                    f"copy public.\"{table}\" ({col_list}) from stdin with (format csv, null '\\N')",
                    stream,
                    size=1 << 16,
                )
                if reset_sequences:
                    cur.execute(
                        f"select setval(pg_get_serial_sequence('public.\"{table}\"', 'id'), "
                        f'coalesce((select max(id) from public."{table}"), 0) + 1, false)'
                    )
                counts[table] = stream.count
        raw.commit()
    finally:
        raw.close()
    return counts


def write_snapshot(engine: sa.Engine, snapshot: Mapping[str, Iterable[dict]]) -> dict[str, int]:
    """Replace the app tables' rows with a world snapshot (lists, or `World.snapshot_rows`' lazy rows); returns
    row counts."""
    create_tables(engine)
    return replace_rows(engine, COLUMNS, snapshot)
