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

from .pii import pii_salt
from .sql_select import SelectPolicy

# The backend tables the platform reads, each with its incremental cursor.
# `tracking_event` stands in for the app's event export (Firebase in production).
CURSORS = {
    "user": "dateUpdated",
    "deposit": "dateUpdated",
    "offerer": "dateUpdated",
    "venue": "dateUpdated",
    "offer": "dateUpdated",
    "stock": "dateUpdated",
    "booking": "dateUpdated",
    "tracking_event": "eventTimestamp",
}
TABLES = tuple(CURSORS)

SELECT = SelectPolicy(
    never_selected={"user": ("firstName", "lastName", "phoneNumber", "email")},
    pseudonyms={("user", "email_hash"): "email"},  # what the other sources join on
    as_text={("offer", "extraData"): "json"},
)


@dlt.source(name="app")
def app_db(credentials: sa.Engine | str = dlt.secrets.value, schema: str = "public", chunk_size: int = 50_000):
    engine = credentials if isinstance(credentials, sa.Engine) else sa.create_engine(credentials)
    source = sql_database(
        engine,
        schema=schema,
        table_names=list(TABLES),
        backend="pyarrow",
        chunk_size=chunk_size,
        table_adapter_callback=SELECT.adapt_table,
        query_adapter_callback=SELECT.query_adapter(pii_salt()),
    )
    for name, resource in source.resources.items():
        resource.apply_hints(
            primary_key="id",
            write_disposition="merge",
            incremental=dlt.sources.incremental(CURSORS[name]),
        )
    return list(source.resources.values())
