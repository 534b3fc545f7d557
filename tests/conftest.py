"""Shared fixtures: a small world, the real sandbox server, a real PostgreSQL.

Nothing here is a mock: the sandbox is the product's HTTP server in its own
process, the app database is the embedded PostgreSQL 18, and every source
talks to them over real connections.
"""

from __future__ import annotations

import os

import pytest
import requests
import sqlalchemy as sa

from ingestion.embedded_postgres import start_embedded, stop_embedded
from sandbox import server
from sandbox.world import World, build_world
from warehouse import Settings

SEED, SCALE = 7, 0.2
SALT = "test-salt"
# dbt build arguments for a rebuild whose test reads rows, not dbt's verdicts: dbt's data and unit tests
# write no row (the demo's own build runs them all), and they are three quarters of a build's time
MODELS_ONLY = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
# the sources' first pause between two attempts (dlt's runtime.request_backoff_factor, 0.5 s otherwise, and DMS's
# own 2 s): the sandbox's faults clear at once, and every process a test starts (`pcdata ingest`) inherits it
os.environ.setdefault("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
os.environ.setdefault("SOURCES__DMS__BACKOFF", "0.05")


@pytest.fixture(scope="session")
def world() -> World:
    return build_world(SEED, SCALE)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    state = tmp_path_factory.mktemp("sandbox") / "sandbox.json"
    handle = server.start(state, SEED, SCALE)
    yield handle
    server.stop(state)


@pytest.fixture
def vendor(sandbox):
    """Control a vendor sandbox: faults, rate limit, stats. Reset after each test."""

    class Control:
        def __init__(self, name: str):
            self.name = name
            self.url = sandbox.vendor_url(name)

        def faults(self, **knobs) -> None:
            requests.post(f"{sandbox.base_url}/_sandbox/faults/{self.name}", json=knobs, timeout=10).raise_for_status()

        def rate_limit(self, requests_: int, per_seconds: float) -> None:
            requests.post(
                f"{sandbox.base_url}/_sandbox/rate_limit/{self.name}",
                json={"requests": requests_, "per_seconds": per_seconds},
                timeout=10,
            ).raise_for_status()

        def stats(self) -> dict:
            return requests.get(f"{sandbox.base_url}/_sandbox/stats/{self.name}", timeout=10).json()

    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=10).raise_for_status()
    yield Control
    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory):
    pgdata = tmp_path_factory.mktemp("pg") / "pgdata"
    url = start_embedded(pgdata)
    yield url
    stop_embedded(pgdata)


@pytest.fixture
def app_engine(pg_url):
    """A fresh database per test on the session's server."""
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"app_{os.getpid()}_{next(_counter)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"create database {name}"))
    engine = sa.create_engine(pg_url.replace("/postgres?", f"/{name}?"))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f"drop database {name} with (force)"))
    admin.dispose()


_counter = iter(range(1_000_000))


@pytest.fixture
def settings(tmp_path, monkeypatch, sandbox) -> Settings:
    """A private home (warehouse, dlt state) with every source pointed at the sandbox."""
    monkeypatch.setenv("PCDATA__HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PII_SALT", SALT)
    for key, value in sandbox.client_config().items():
        monkeypatch.setenv(key, value)
    return Settings.load()


@pytest.fixture
def duck(settings):
    """Read the test's warehouse: duck("select ...") -> rows."""
    import duckdb

    def query(sql: str) -> list[tuple]:
        with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
            return conn.execute(sql).fetchall()

    return query


def pytest_configure(config):
    # tests must not reach real vendors even if a developer's env points elsewhere
    for key in list(os.environ):
        if key.startswith(("SOURCES__", "DESTINATION__", "PCDATA__")):
            del os.environ[key]


def pytest_xdist_auto_num_workers(config) -> int:
    """Three workers for two cores (`--numprocesses=auto`, capped by `--maxprocesses`): a worker spends part of
    its time waiting on the processes it starts (the sandbox, PostgreSQL, the demo, the BigQuery emulator,
    `bentoml serve`). On two cores the suite took 596 s with two workers, 517 s with three (CPUs 187 % busy)."""
    return max(1, (3 * (os.cpu_count() or 1)) // 2)


# `make test` runs on pytest-xdist workers (`--dist loadgroup`, pyproject.toml). A unit of work is a module,
# so that its module fixtures are set up once; the modules that read the shared demo form one unit, so the
# worker that runs the demo runs them too and the others never wait on the demo's lock. The longest units go
# first (collection order is kept: --no-loadscope-reorder): the demo's and BigQuery's, one per worker, then the
# longest single modules (the fault matrix, 90 to 130 s; compliance, about a minute), so that none is taken
# last and holds its worker after the others are done; the short modules fill in beside.
FIRST = ("demo", "bigquery", "test_fault_matrix", "test_compliance")


@pytest.hookimpl(wrapper=True)  # around every other implementation: before xdist's reads the groups
def pytest_collection_modifyitems(config, items):
    reads_demo = {item.module.__name__ for item in items if "demo" in item.fixturenames}

    def group(item) -> str:
        marker = item.get_closest_marker("xdist_group")
        if marker is not None:
            return marker.args[0] if marker.args else marker.kwargs.get("name", "default")
        return "demo" if item.module.__name__ in reads_demo else item.module.__name__

    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(group(item)))
    items.sort(key=lambda item: FIRST.index(group(item)) if group(item) in FIRST else len(FIRST))
    return (yield)
