"""Metabase: what analysts built and how they use it, plus who may see what.

Two paths, each loaded incrementally where the data allows:
1. The Metabase application database (PostgreSQL) through dlt's `sql_database`
   source with the pyarrow backend (config `app_db_credentials`: a SQLAlchemy
   URL or Engine):
   - `report_card`, `report_dashboard`, `core_user`: incremental on `updated_at`,
     merge on `id`;
   - `query_execution`: append-only log, incremental on `started_at`, merge on `id`
     (it grows by every query run: never re-copied in full);
   - `collection` (has no `updated_at`) and `report_dashboardcard` (rows are
     deleted when a card leaves a dashboard): small true snapshots, `replace`.
   Personal data stays in PostgreSQL: user names and password hashes are never
   selected, the email leaves only as a salted SHA-256 (`email_hash`, computed
   in PostgreSQL, the same function as `pii.pseudonymise`). The query hash
   (bytea) travels as hex text.
2. The REST API for governance data the application database holds in no
   usable form (permission paths as strings): `POST /api/session` with the
   username and password (or an API key, `x-api-key`), then
   `X-Metabase-Session` on `GET /api/collection/graph` (-> `collection_permission`),
   `GET /api/permissions/group` (-> `permission_group`, with member counts),
   `GET /api/permissions/membership` (-> `permission_membership`) and
   `GET /api/database` (-> `database`, connection details never kept).
   These are current-state snapshots (`replace`).
Metabase is self-hosted: `base_url` has no default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import dlt
import sqlalchemy as sa
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.sql_database import sql_database

from .hints import column
from .http import MAX_ATTEMPTS, RateLimiter, VendorHttp
from .pii import pii_salt
from .sql_select import SelectPolicy

VENDOR = "metabase"
# table -> incremental cursor (None: a snapshot, replaced every run)
APP_TABLES: dict[str, str | None] = {
    "report_card": "updated_at",
    "report_dashboard": "updated_at",
    "core_user": "updated_at",
    "query_execution": "started_at",
    "collection": None,
    "report_dashboardcard": None,
}
SELECT = SelectPolicy(
    never_selected={
        "core_user": (
            "first_name",
            "last_name",
            "email",
            "password",
            "password_salt",
            "reset_token",
            "login_attributes",
            "jwt_attributes",
            "settings",
        )
    },
    pseudonyms={("core_user", "email_hash"): "email"},
    as_text={("query_execution", "hash"): "hex"},
)
DATABASE_KEPT = (
    "id",
    "name",
    "engine",
    "is_sample",
    "is_full_sync",
    "is_on_demand",
    "is_audit",
    "timezone",
    "created_at",
    "updated_at",
    "native_permissions",
)


def _api(base_url, username, password, api_key, calls_per_second, timeout, max_attempts) -> Callable[[str], Any]:
    """GET on the REST API, authenticated by the API key, or by a session opened at the first call."""
    http = VendorHttp(
        VENDOR,
        base_url=base_url,
        headers={"Accept": "application/json"},
        limiter=RateLimiter(calls_per_second, 1.0),
        timeout=timeout,
        max_attempts=max_attempts,
        secrets=[password, api_key],
    )
    auth: list[APIKeyAuth] = []

    def login() -> APIKeyAuth:
        if api_key:
            return APIKeyAuth(name="x-api-key", api_key=api_key, location="header")
        if not username or not password:
            raise ValueError("metabase: set sources.metabase.username and password (or api_key)")
        body = http.post("/api/session", json={"username": username, "password": password}).json()
        if not isinstance(body, dict) or not body.get("id"):
            raise ValueError("metabase: POST /api/session answered no session id")
        return APIKeyAuth(name="X-Metabase-Session", api_key=body["id"], location="header")

    def get(path: str):
        if not auth:
            auth.append(login())
        return http.get(path, auth=auth[0]).json()

    return get


@dlt.source(name="metabase")
def metabase(
    app_db_credentials: sa.Engine | str = dlt.secrets.value,
    base_url: str = dlt.config.value,
    username: str | None = dlt.secrets.value,
    password: str | None = dlt.secrets.value,
    api_key: str | None = None,
    calls_per_second: float = 10,  # Metabase documents no API limit: stay gentle with a shared instance
    chunk_size: int = 50_000,
    timeout: float = 60,
    max_attempts: int = MAX_ATTEMPTS,
):
    engine = app_db_credentials if isinstance(app_db_credentials, sa.Engine) else sa.create_engine(app_db_credentials)
    app = sql_database(
        engine,
        schema="public",
        table_names=list(APP_TABLES),
        backend="pyarrow",
        chunk_size=chunk_size,
        table_adapter_callback=SELECT.adapt_table,
        query_adapter_callback=SELECT.query_adapter(pii_salt()),
    )
    for name, resource in app.resources.items():
        cursor = APP_TABLES[name]
        if cursor:
            resource.apply_hints(
                primary_key="id", write_disposition="merge", incremental=dlt.sources.incremental(cursor)
            )
        else:
            resource.apply_hints(primary_key="id", write_disposition="replace")

    api_get = _api(base_url, username, password, api_key, calls_per_second, timeout, max_attempts)

    @dlt.resource(
        name="collection_permission",
        primary_key=("group_id", "collection_id"),
        write_disposition="replace",
        columns={
            "group_id": {"data_type": "bigint"},
            "collection_id": column("text"),
            "permission": column("text"),
            "graph_revision": {"data_type": "bigint"},
        },
    )
    def collection_permission() -> Iterator[list[dict]]:
        graph = api_get("/api/collection/graph")
        yield [
            {
                "group_id": int(group),
                "collection_id": str(collection),
                "permission": permission,
                "graph_revision": graph.get("revision"),
            }
            for group, perms in graph["groups"].items()
            for collection, permission in perms.items()
        ]

    @dlt.resource(
        name="permission_group",
        primary_key="id",
        write_disposition="replace",
        columns={
            "id": {"data_type": "bigint"},
            "name": column("text"),
            "member_count": {"data_type": "bigint"},
            "magic_group_type": column("text"),
        },
    )
    def permission_group() -> Iterator[list[dict]]:
        yield [
            {
                "id": g["id"],
                "name": g.get("name"),
                "member_count": g.get("member_count"),
                "magic_group_type": g.get("magic_group_type"),
            }
            for g in api_get("/api/permissions/group")
        ]

    @dlt.resource(
        name="permission_membership",
        primary_key="membership_id",
        write_disposition="replace",
        columns={
            "membership_id": {"data_type": "bigint"},
            "user_id": {"data_type": "bigint"},
            "group_id": {"data_type": "bigint"},
            "is_group_manager": {"data_type": "bool"},
        },
    )
    def permission_membership() -> Iterator[list[dict]]:
        by_user = api_get("/api/permissions/membership")
        yield [
            {
                "membership_id": m["membership_id"],
                "user_id": int(m.get("user_id", user)),
                "group_id": m["group_id"],
                "is_group_manager": bool(m.get("is_group_manager")),
            }
            for user, memberships in by_user.items()
            for m in memberships
        ]

    @dlt.resource(
        name="database",
        primary_key="id",
        write_disposition="replace",
        columns={
            "id": {"data_type": "bigint"},
            "name": column("text"),
            "engine": column("text"),
            "is_sample": {"data_type": "bool"},
            "created_at": {"data_type": "timestamp"},
            "updated_at": {"data_type": "timestamp"},
        },
    )
    def database() -> Iterator[list[dict]]:
        body = api_get("/api/database")
        rows = body["data"] if isinstance(body, dict) else body  # {data, total} since 0.4x, a plain list before
        yield [{k: d.get(k) for k in DATABASE_KEPT if k in d} for d in rows]  # never the connection details

    return [*app.resources.values(), collection_permission, permission_group, permission_membership, database]
