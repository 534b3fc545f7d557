"""The pass Culture app database (PostgreSQL) through dlt's `sql_database` source.

Every table loads incrementally on its update timestamp and merges on `id`,
so a rerun reads only the rows changed since the last one and never
duplicates. The pyarrow backend keeps it fast (no per-row normalisation).
Personal data is dealt with before it leaves the database: names and phone
numbers are never selected, and the email only travels as a salted hash
(`email_hash`), which is what the other sources join on.
"""

from __future__ import annotations

import dlt
import sqlalchemy as sa
from dlt.sources.sql_database import sql_database

from ..appdb import CURSORS, TABLES
from .pii import pii_salt

# columns that no mart needs and that identify a person: never read
NEVER_SELECTED = {"user": ("firstName", "lastName", "phoneNumber", "email")}
# columns computed by the database from personal data: (table, pseudonym) -> source column
PSEUDONYMS = {("user", "email_hash"): "email"}
# JSONB read as its text: one portable string column in DuckDB and BigQuery alike
JSON_AS_TEXT = {("offer", "extraData")}


def _adapt_table(table: sa.Table) -> sa.Table:
    """Drop the personal columns from the reflected table; declare their pseudonyms instead."""
    for name in NEVER_SELECTED.get(table.name, ()):
        if name in table.c:
            table._columns.remove(table.c[name])
    for table_name, name in JSON_AS_TEXT:
        if table_name == table.name:
            table.append_column(sa.Column(name, sa.Text()), replace_existing=True)
    for (table_name, pseudonym), _ in PSEUDONYMS.items():
        if table_name == table.name:
            table.append_column(sa.Column(pseudonym, sa.Text()), replace_existing=True)
    return table


def _pseudonymising_query(salt: str):
    """Select the pseudonyms as salted SHA-256 computed in PostgreSQL: the plain value never leaves it.

    Same function as `pii.pseudonymise`: sha256(salt || lower(trim(value))), hex.
    JSON columns are cast to text there too.
    """

    def adapt(query, table: sa.Table):
        pseudonyms = {p: source for (t, p), source in PSEUDONYMS.items() if t == table.name}
        json_columns = {name for t, name in JSON_AS_TEXT if t == table.name}
        if not pseudonyms and not json_columns:
            return query
        kept = [
            sa.cast(sa.literal_column(f'"{c.name}"'), sa.Text()).label(c.name) if c.name in json_columns else c
            for c in table.c
            if c.name not in pseudonyms
        ]
        hashed = [
            sa.func.encode(
                sa.func.sha256(sa.func.convert_to(sa.literal(salt) + sa.func.lower(sa.func.trim(sa.literal_column(f'"{source}"'))), "UTF8")),
                "hex",
            ).label(name)
            for name, source in pseudonyms.items()
        ]
        return query.with_only_columns(*kept, *hashed)

    return adapt


@dlt.source(name="app")
def app_db(credentials: sa.Engine | str = dlt.secrets.value, schema: str = "public", chunk_size: int = 50_000):
    engine = credentials if isinstance(credentials, sa.Engine) else sa.create_engine(credentials)
    source = sql_database(
        engine,
        schema=schema,
        table_names=list(TABLES),
        backend="pyarrow",
        chunk_size=chunk_size,
        table_adapter_callback=_adapt_table,
        query_adapter_callback=_pseudonymising_query(pii_salt()),
    )
    for name, resource in source.resources.items():
        resource.apply_hints(
            primary_key="id",
            write_disposition="merge",
            incremental=dlt.sources.incremental(CURSORS[name]),
        )
    return list(source.resources.values())
