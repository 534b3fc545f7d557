"""Every source through every kind of fault, then one clean run: the raw tables equal a clean baseline.

The full matrix (one home per fault, printed as a table) is `python -m sandbox.fault_matrix`; here the
faults come one after another in the same home, which is the harder case (each run starts from what
the previous faulty one left) and costs one clean run instead of nine.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from dlt.common.configuration.container import Container
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

from ingestion.registry import SOURCES, in_load_order
from sandbox import server
from sandbox.app_database import write_snapshot
from sandbox.config import PROVIDER_NAME
from sandbox.fault_matrix import FaultMatrix, compare
from sandbox.vendors.metabase.app_database import write_beside
from tests.conftest import SCALE, SEED

# every HTTP fault kind of the full matrix on every vendor in the same run: from the third request,
# a 429, a 503, a dropped connection and a slow answer (one call's four attempts), then an
# unreadable page; payloads drift all along
MIXED = {"fail_next": [None, None, 429, 503, "drop", "slow", "malformed"], "schema_drift": True}


@pytest.fixture(scope="module")
def high_volume_sandbox(tmp_path_factory):
    """The same world on the vendors' high-volume plans: the faults are the subject, not Zendesk's pace of
    10 export calls a minute (each faulty export call's retry would wait 6 s for it)."""
    state = tmp_path_factory.mktemp("sandbox_high_volume") / "sandbox.json"
    yield server.start(state, SEED, SCALE, vendor_tier="high-volume")
    server.stop(state)


@pytest.fixture(scope="module")
def matrix(world, high_volume_sandbox, pg_url, tmp_path_factory):
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("create database fault_matrix"))
    engine = sa.create_engine(pg_url.replace("/postgres?", "/fault_matrix?"))
    write_snapshot(engine, world.snapshot())
    write_beside(engine, world)
    # the served-list logs are files the Recommendation API writes on this machine: no vendor to fault
    sources = in_load_order([s for s in SOURCES if s != "recommendation_logs"])
    yield FaultMatrix(high_volume_sandbox, engine, tmp_path_factory.mktemp("fault_matrix"), sources)
    engine.dispose()


def test_after_every_fault_one_clean_run_equals_the_baseline_key_for_key(matrix):
    baseline = matrix.baseline()
    home = matrix.home("faulty")

    outage = matrix.ingest(home, matrix.outage())  # first: every source has something to fetch
    bad_key = matrix.ingest(home, matrix.bad_keys())
    matrix.reset()
    matrix.set_faults(MIXED)
    try:
        matrix.ingest(home)
    finally:
        matrix.reset()
    killed = matrix.ingest_killed(home)
    rerun = matrix.ingest(home)
    print("\n".join(f"{h} {s} {t:.1f}s" for h, s, t in matrix.timings))

    # the vendors behind an HTTP API (the app database and the Firebase export's bucket have no key nor host
    # of the sandbox's: they load through both)
    vendors = [s for s in matrix.sources if s not in ("app", "firebase")]
    # wrong credentials: every vendor source fails, names itself, and never echoes the key
    for source in vendors:
        message = bad_key[source]
        if source == "api_adresse":  # a public API: no key to get wrong
            continue
        assert message != "loaded", f"{source} loaded with a wrong key"
        assert source in message, message
        assert "wrong-sandbox" not in message, f"{source} prints the key it was given: {message}"
    # an outage names the vendor and the host it could not reach, never a bare RemoteDisconnected
    for source in vendors:
        message = outage[source]
        assert message != "loaded", f"{source} loaded during an outage"
        assert "127.0.0.1" in message, f"{source}: the outage message names no host: {message}"
    assert set(killed.values()) == {"killed during load"}, killed

    assert rerun == dict.fromkeys(matrix.sources, "loaded"), rerun
    # the matrix's configuration does not outlive its runs (later tests resolve their own)
    providers = Container()[PluggableRunContext].providers.providers
    assert PROVIDER_NAME not in [p.name for p in providers]
    differences = compare(baseline, home, matrix.datasets())
    broken = {source: lost_dup for source, lost_dup in differences.items() if lost_dup != (0, 0)}
    assert not broken, f"(rows lost, rows duplicated) after one clean run: {broken}"
