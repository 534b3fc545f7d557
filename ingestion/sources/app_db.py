"""The pass Culture app database (PostgreSQL) through dlt's `sql_database` source.

Every table loads incrementally on its update timestamp and merges on `id`,
so a rerun reads only the rows changed since the last one and never
duplicates. Rows travel from PostgreSQL straight into Arrow: connectorx reads the
binary protocol in Rust (dlt's `pyarrow` backend builds Arrow from SQLAlchemy
row tuples in Python, ~4x the cost of a COPY), streamed in `chunk_size` batches
so a large table never sits whole in memory, and dlt skips its row normaliser.
Personal data is dealt with before it leaves the database: names and phone
numbers are never selected, and the email only travels as a salted hash
(`email_hash`), which is what the other sources join on.

Hard deletes: a row the backend deletes never shows up in an incremental read,
so each run also scans the primary keys of every table in `KEY_SCANNED`
(`select id`: an index-only scan, about 8 bytes a row, read by connectorx) and compares them with
the ids still live in raw. A raw row whose id has left PostgreSQL is merged
again, unchanged, with `_deleted_at` set to the run that noticed it; staging
exposes it as `is_deleted`/`deleted_at` and the marts leave those rows out.
Chosen over dbt snapshots with `hard_deletes: invalidate`, which re-read and
compare every column of every row on each run: the key scan keeps the
incremental read and writes only the deleted rows. (At larger scale the same
flag would come from logical replication, CDC, without any scan.) A row that
reappears under its id, with a newer `dateUpdated`, is merged back by the
incremental read with no flag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from dlt.sources.sql_database import sql_database

from .http import register_secrets
from .pii import pii_salt
from .sql_select import SelectPolicy

# The backend tables the platform reads, each with its incremental cursor (the app's analytics events
# are not in this database: they come from the Firebase export, sources/firebase.py).
CURSORS = {
    "user": "dateUpdated",
    "deposit": "dateUpdated",
    "offerer": "dateUpdated",
    "venue": "dateUpdated",
    "offer": "dateUpdated",
    "stock": "dateUpdated",
    "booking": "dateUpdated",
}
TABLES = tuple(CURSORS)
KEY_SCANNED = TABLES
DELETED_AT = "_deleted_at"
DELETED_TYPE = pa.timestamp("us", tz="UTC")

SELECT = SelectPolicy(
    never_selected={"user": ("firstName", "lastName", "phoneNumber", "email")},
    pseudonyms={("user", "email_hash"): "email"},  # what the other sources join on
    as_text={("offer", "extraData"): "json"},
)


@dataclass
class LoadedRows:
    """The app tables as raw already holds them (read through the pipeline's own destination client)."""

    pipeline: dlt.Pipeline
    chunk: int = 10_000

    def _readable(self, table: str) -> bool:
        p = self.pipeline
        return bool(p.default_schema_name) and DELETED_AT in p.default_schema.get_table_columns(table)

    def _query(self, sql: str) -> pa.Table | None:
        with self.pipeline.sql_client() as client, client.execute_query(sql) as cursor:
            parts = list(cursor.iter_arrow(chunk_size=100_000))  # chunked: the path every destination supports
        return pa.concat_tables(parts) if parts else None

    def live_ids(self, table: str) -> pa.Array:
        if not self._readable(table):  # never loaded, or loaded before deletes were tracked: nothing to compare
            return pa.array([], pa.int64())
        with self.pipeline.sql_client() as client:
            name = client.make_qualified_table_name(table)
        found = self._query(f"select id from {name} where {DELETED_AT} is null")
        return found.column("id").combine_chunks().cast(pa.int64()) if found is not None else pa.array([], pa.int64())

    def rows(self, table: str, ids: pa.Array) -> Iterator[pa.Table]:
        with self.pipeline.sql_client() as client:
            name = client.make_qualified_table_name(table)
        for start in range(0, len(ids), self.chunk):
            listed = ", ".join(str(i) for i in ids[start : start + self.chunk].to_pylist())
            found = self._query(f"select * from {name} where id in ({listed})")
            if found is not None and found.num_rows:
                yield found.drop_columns([c for c in found.column_names if c.startswith("_dlt_")])


def key_scan(engine: sa.Engine, schema: str, table: str, chunk: int = 1_000_000) -> pa.Array:
    """Every id of the table now, streamed from PostgreSQL straight into Arrow (connectorx, binary protocol)."""
    import connectorx as cx

    batches = cx.read_sql(
        connectorx_url(engine.url),
        f'select id from "{schema}"."{table}"',
        return_type="arrow_stream",
        batch_size=chunk,
    )
    parts = [batch.column(0).cast(pa.int64()) for batch in batches if batch.num_rows]
    return pa.concat_arrays(parts) if parts else pa.array([], pa.int64())


def deletes(engine: sa.Engine, schema: str, table: str, loaded: LoadedRows):
    """Raw's live rows whose id is gone from PostgreSQL, merged back with `_deleted_at` set."""

    @dlt.resource(
        name=f"{table}_deletes",
        table_name=table,
        primary_key="id",
        write_disposition="merge",
        columns={DELETED_AT: {"data_type": "timestamp", "nullable": True}},
    )
    def detect() -> Iterator[pa.Table]:
        live = loaded.live_ids(table)
        if not len(live):
            return
        gone = live.filter(pc.invert(pc.is_in(live, value_set=key_scan(engine, schema, table))))
        noticed = datetime.now(UTC)
        for rows in loaded.rows(table, gone):
            flags = pa.array([noticed] * rows.num_rows, DELETED_TYPE)
            yield rows.drop_columns([DELETED_AT]).append_column(DELETED_AT, flags)

    return detect


def connectorx_url(url: sa.URL) -> str:
    """The database URL as connectorx reads it: no driver name, and a Unix socket folder (libpq's
    `?host=/path`, how the embedded PostgreSQL is reached) as the URL's host, percent-encoded."""
    host = url.host or url.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    url = url.set(drivername="postgresql", host=quote(host, safe="") if host else None)
    return url.difference_update_query(["host"]).render_as_string(hide_password=False)


def _as_declared(columns: dict) -> Callable[[pa.Table], pa.Table]:
    """connectorx's Arrow batches with the columns as reflected (what the table is created with):
    every NUMERIC comes as decimal(38, 10), cast back to its precision and scale (BigQuery's NUMERIC
    holds 9 decimals at most), and NOT NULL columns are said so (else dlt warns of differing hints)."""
    decimals = {
        name: pa.decimal128(c["precision"], c["scale"])
        for name, c in columns.items()
        if c.get("data_type") == "decimal" and c.get("precision") is not None and c.get("scale") is not None
    }
    required = {name for name, c in columns.items() if c.get("nullable") is False}

    def cast(rows: pa.Table) -> pa.Table:
        declared = pa.schema(
            [
                pa.field(f.name, decimals.get(f.name, f.type), nullable=f.name not in required and f.nullable)
                for f in rows.schema
            ]
        )
        return rows if declared == rows.schema else rows.cast(declared)

    return cast


def _live(rows: pa.Table) -> pa.Table:
    return rows.append_column(DELETED_AT, pa.nulls(rows.num_rows, DELETED_TYPE))


@dlt.source(name="app")
def app_db(
    credentials: sa.Engine | str = dlt.secrets.value,
    schema: str = "public",
    chunk_size: int = 50_000,
    loaded: LoadedRows | None = None,
):
    """`loaded`: raw as it stands, to detect hard deletes (None: incremental reads only)."""
    engine = credentials if isinstance(credentials, sa.Engine) else sa.create_engine(credentials)
    salt = pii_salt()
    register_secrets(salt)  # connectorx runs the select as text, the salt in it, and dlt logs that text at INFO
    source = sql_database(
        engine,
        schema=schema,
        table_names=list(TABLES),
        backend="connectorx",
        backend_kwargs={"conn": connectorx_url(engine.url), "return_type": "arrow_stream", "batch_size": chunk_size},
        chunk_size=chunk_size,
        table_adapter_callback=SELECT.adapt_table,
        query_adapter_callback=SELECT.query_adapter(salt),
    )
    for name, resource in source.resources.items():
        resource.apply_hints(
            primary_key="id",
            write_disposition="merge",
            incremental=dlt.sources.incremental(CURSORS[name]),
        )
        resource.add_map(_as_declared(dict(resource.columns)))  # type: ignore[arg-type]
        if name in KEY_SCANNED:  # every row read is live: the flag is cleared, and exists before any delete
            resource.add_map(_live)
    resources = list(source.resources.values())
    if loaded is not None:
        resources += [deletes(engine, schema, table, loaded) for table in KEY_SCANNED]
    return resources
