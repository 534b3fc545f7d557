"""The Metabase application database of the sandbox: a real PostgreSQL database.

`write_metabase_db(engine, world)` creates the tables the Metabase source reads
(Metabase's own names and column types: `core_user`, `collection`,
`report_card`, `report_dashboard`, `report_dashboardcard`, `query_execution`)
and replaces their rows with the world's Metabase slice, as it stood at
`as_of`, in one transaction: writing twice leaves the same rows, never twice.

`write_beside(app_engine, world)` is what the sandbox's app database step runs:
a database named `metabase` on the same server as the app database, created
when missing, whose URL then goes into the sandbox's client configuration as
`sources.metabase.app_db_credentials`.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from sandbox.app_database import create_tables, replace_rows
from sandbox.world import World

from .world import build

TSZ = "timestamp with time zone"
# Metabase's application tables (the columns that matter here), in its own names.
TABLES: dict[str, list[tuple[str, str]]] = {
    "core_user": [
        ("id", "serial primary key"),
        ("email", "varchar(254) not null"),
        ("first_name", "varchar(254)"),
        ("last_name", "varchar(254)"),
        ("password", "varchar(254)"),
        ("password_salt", "varchar(254)"),
        ("date_joined", f"{TSZ} not null"),
        ("last_login", TSZ),
        ("is_superuser", "boolean not null"),
        ("is_active", "boolean not null"),
        ("updated_at", TSZ),
        ("locale", "varchar(5)"),
        ("sso_source", "varchar(254)"),
        ("type", "varchar(64) not null"),
    ],
    "collection": [
        ("id", "serial primary key"),
        ("name", "text not null"),
        ("description", "text"),
        ("archived", "boolean not null"),
        ("slug", "varchar(510) not null"),
        ("personal_owner_id", "integer"),
        ("location", "varchar(254) not null"),
        ("namespace", "varchar(254)"),
        ("authority_level", "varchar(255)"),
        ("created_at", f"{TSZ} not null"),
        ("type", "varchar(256)"),
        ("entity_id", "char(21)"),
    ],
    "report_card": [
        ("id", "serial primary key"),
        ("created_at", f"{TSZ} not null"),
        ("updated_at", f"{TSZ} not null"),
        ("name", "varchar(254) not null"),
        ("description", "text"),
        ("display", "varchar(254) not null"),
        ("dataset_query", "text not null"),
        ("visualization_settings", "text not null"),
        ("creator_id", "integer not null"),
        ("database_id", "integer"),
        ("table_id", "integer"),
        ("query_type", "varchar(16)"),
        ("archived", "boolean not null"),
        ("collection_id", "integer"),
        ("public_uuid", "char(36)"),
        ("enable_embedding", "boolean not null"),
        ("cache_ttl", "integer"),
        ("type", "varchar(16) not null"),
        ("entity_id", "char(21)"),
    ],
    "report_dashboard": [
        ("id", "serial primary key"),
        ("created_at", f"{TSZ} not null"),
        ("updated_at", f"{TSZ} not null"),
        ("name", "varchar(254) not null"),
        ("description", "text"),
        ("creator_id", "integer not null"),
        ("parameters", "text not null"),
        ("points_of_interest", "text"),
        ("caveats", "text"),
        ("show_in_getting_started", "boolean not null"),
        ("public_uuid", "char(36)"),
        ("enable_embedding", "boolean not null"),
        ("archived", "boolean not null"),
        ("position", "integer"),
        ("collection_id", "integer"),
        ("cache_ttl", "integer"),
        ("width", "varchar(16)"),
        ("entity_id", "char(21)"),
    ],
    "report_dashboardcard": [
        ("id", "serial primary key"),
        ("created_at", f"{TSZ} not null"),
        ("updated_at", f"{TSZ} not null"),
        ("size_x", "integer not null"),
        ("size_y", "integer not null"),
        ("row", "integer not null"),
        ("col", "integer not null"),
        ("card_id", "integer"),
        ("dashboard_id", "integer not null"),
        ("parameter_mappings", "text not null"),
        ("visualization_settings", "text not null"),
        ("dashboard_tab_id", "integer"),
        ("entity_id", "char(21)"),
    ],
    "query_execution": [
        ("id", "serial primary key"),
        ("hash", "bytea not null"),
        ("started_at", f"{TSZ} not null"),
        ("running_time", "integer not null"),
        ("result_rows", "integer not null"),
        ("native", "boolean not null"),
        ("context", "varchar(32)"),
        ("error", "text"),
        ("executor_id", "integer"),
        ("card_id", "integer"),
        ("dashboard_id", "integer"),
        ("pulse_id", "integer"),
        ("database_id", "integer"),
        ("cache_hit", "boolean"),
    ],
}
INDEXES = {
    "query_execution": ("started_at",),
    "report_card": ("updated_at",),
    "report_dashboard": ("updated_at",),
    "core_user": ("updated_at",),
}
DATABASE = "metabase"


def write_metabase_db(engine: sa.Engine, world: World, as_of: datetime | None = None) -> dict[str, int]:
    """Replace the Metabase tables' rows with the world's slice at `as_of`, in one transaction; row counts."""
    tables = world.slice("metabase", build).as_of(as_of)
    create_tables(engine, TABLES, INDEXES)
    return replace_rows(engine, TABLES, tables, reset_sequences=True)


def write_beside(app_engine: sa.Engine, world: World, as_of: datetime | None = None) -> str:
    """Write the world's Metabase slice into a `metabase` database beside the app database; returns its URL."""
    admin = app_engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("select 1 from pg_database where datname = :d"), {"d": DATABASE}).first()
        if exists is None:
            try:
                conn.execute(sa.text(f'create database "{DATABASE}"'))
            except sa.exc.ProgrammingError as exc:  # created meanwhile by another run
                if "already exists" not in str(exc):
                    raise
    url = app_engine.url.set(database=DATABASE)
    engine = sa.create_engine(url)
    try:
        write_metabase_db(engine, world, as_of)
    finally:
        engine.dispose()
    return url.render_as_string(hide_password=False)
