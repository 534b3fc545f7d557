"""The Metabase application database of the sandbox: a real PostgreSQL database.

`write_metabase_db(engine, world)` creates the tables the reference reads
(Metabase's own names and column types: `core_user`, `collection`,
`report_card`, `report_dashboard`, `report_dashboardcard`, `query_execution`)
and replaces their rows with the world's Metabase slice, as it stood at
`as_of`, in one transaction: writing twice leaves the same rows, never twice.

`sandbox_metabase_engine(app_engine, base_url)` is what the source registry
uses when `sources.metabase.app_db_credentials` is not configured: a database
named `metabase` on the same PostgreSQL server as the app database, created
when missing and filled from the world the Metabase sandbox serves. The
sandbox says which world it serves (seed and scale) in its public
`GET /api/session/properties`, under the non-standard key `sandbox-world`; a
real Metabase has no such key, so against a real host this fails with a
message asking for the credentials instead of inventing a database. The
database carries a comment naming the world it holds, so a later run writes
it again only when the sandbox serves another world.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..appdb import create_tables, replace_rows
from .world import World
from .world.metabase import build

TSZ = "timestamp with time zone"
# Metabase's application tables (the columns that matter here), in its own names.
TABLES: dict[str, list[tuple[str, str]]] = {
    "core_user": [
        ("id", "serial primary key"), ("email", "varchar(254) not null"), ("first_name", "varchar(254)"),
        ("last_name", "varchar(254)"), ("password", "varchar(254)"), ("password_salt", "varchar(254)"),
        ("date_joined", f"{TSZ} not null"), ("last_login", TSZ), ("is_superuser", "boolean not null"),
        ("is_active", "boolean not null"), ("updated_at", TSZ), ("locale", "varchar(5)"), ("sso_source", "varchar(254)"),
        ("type", "varchar(64) not null"),
    ],
    "collection": [
        ("id", "serial primary key"), ("name", "text not null"), ("description", "text"), ("archived", "boolean not null"),
        ("slug", "varchar(510) not null"), ("personal_owner_id", "integer"), ("location", "varchar(254) not null"),
        ("namespace", "varchar(254)"), ("authority_level", "varchar(255)"), ("created_at", f"{TSZ} not null"),
        ("type", "varchar(256)"), ("entity_id", "char(21)"),
    ],
    "report_card": [
        ("id", "serial primary key"), ("created_at", f"{TSZ} not null"), ("updated_at", f"{TSZ} not null"),
        ("name", "varchar(254) not null"), ("description", "text"), ("display", "varchar(254) not null"),
        ("dataset_query", "text not null"), ("visualization_settings", "text not null"), ("creator_id", "integer not null"),
        ("database_id", "integer"), ("table_id", "integer"), ("query_type", "varchar(16)"), ("archived", "boolean not null"),
        ("collection_id", "integer"), ("public_uuid", "char(36)"), ("enable_embedding", "boolean not null"),
        ("cache_ttl", "integer"), ("type", "varchar(16) not null"), ("entity_id", "char(21)"),
    ],
    "report_dashboard": [
        ("id", "serial primary key"), ("created_at", f"{TSZ} not null"), ("updated_at", f"{TSZ} not null"),
        ("name", "varchar(254) not null"), ("description", "text"), ("creator_id", "integer not null"),
        ("parameters", "text not null"), ("points_of_interest", "text"), ("caveats", "text"),
        ("show_in_getting_started", "boolean not null"), ("public_uuid", "char(36)"), ("enable_embedding", "boolean not null"),
        ("archived", "boolean not null"), ("position", "integer"), ("collection_id", "integer"), ("cache_ttl", "integer"),
        ("width", "varchar(16)"), ("entity_id", "char(21)"),
    ],
    "report_dashboardcard": [
        ("id", "serial primary key"), ("created_at", f"{TSZ} not null"), ("updated_at", f"{TSZ} not null"),
        ("size_x", "integer not null"), ("size_y", "integer not null"), ("row", "integer not null"), ("col", "integer not null"),
        ("card_id", "integer"), ("dashboard_id", "integer not null"), ("parameter_mappings", "text not null"),
        ("visualization_settings", "text not null"), ("dashboard_tab_id", "integer"), ("entity_id", "char(21)"),
    ],
    "query_execution": [
        ("id", "serial primary key"), ("hash", "bytea not null"), ("started_at", f"{TSZ} not null"),
        ("running_time", "integer not null"), ("result_rows", "integer not null"), ("native", "boolean not null"),
        ("context", "varchar(32)"), ("error", "text"), ("executor_id", "integer"), ("card_id", "integer"),
        ("dashboard_id", "integer"), ("pulse_id", "integer"), ("database_id", "integer"), ("cache_hit", "boolean"),
    ],
}
INDEXES = {"query_execution": ("started_at",), "report_card": ("updated_at",), "report_dashboard": ("updated_at",),
           "core_user": ("updated_at",)}
DATABASE = "metabase"
WORLD_KEY = "sandbox-world"  # the Metabase sandbox's non-standard key in /api/session/properties


def write_metabase_db(engine: sa.Engine, world: World, as_of: datetime | None = None) -> dict[str, int]:
    """Replace the Metabase tables' rows with the world's slice at `as_of`, in one transaction; row counts."""
    tables = world.slice("metabase", build).as_of(as_of)
    create_tables(engine, TABLES, INDEXES)
    return replace_rows(engine, TABLES, tables, reset_sequences=True)


def sandbox_world(base_url: str, timeout: float = 30) -> tuple[int, float] | None:
    """(seed, scale) of the world a Metabase sandbox serves; None for a real Metabase."""
    from ..sources.http import fetch, session

    _, props = fetch(session(timeout=timeout), "metabase", "GET", f"{base_url.rstrip('/')}/api/session/properties",
                     lambda r: r.json())
    marker = props.get(WORLD_KEY) if isinstance(props, dict) else None
    if not marker:
        return None
    return int(marker["seed"]), float(marker["scale"])


def sandbox_metabase_engine(app_engine: sa.Engine, base_url: str) -> sa.Engine:
    """The `metabase` database beside the app database, holding the world the sandbox at `base_url` serves."""
    world_id = sandbox_world(base_url)
    if world_id is None:
        raise RuntimeError(f"sources.metabase.app_db_credentials is not set and the Metabase at {base_url} is not the "
                           "sandbox: set it to the Metabase application database URL")
    seed, scale = world_id
    label = f"pcdata sandbox world seed={seed} scale={scale}"
    admin = app_engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        current = conn.execute(sa.text("select shobj_description(oid, 'pg_database') from pg_database where datname = :d"),
                               {"d": DATABASE}).first()
        if current is None:
            try:
                conn.execute(sa.text(f'create database "{DATABASE}"'))
            except sa.exc.ProgrammingError as exc:  # created meanwhile by another run
                if "already exists" not in str(exc):
                    raise
    engine = sa.create_engine(app_engine.url.set(database=DATABASE))
    if current is None or current[0] != label:
        from .world import build_world

        write_metabase_db(engine, build_world(seed, scale))
        with admin.connect() as conn:
            conn.execute(sa.text(f"comment on database \"{DATABASE}\" is '{label}'"))
    return engine
