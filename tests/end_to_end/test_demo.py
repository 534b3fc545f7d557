"""The main job end to end, as a user runs it: `python -m sandbox demo` on a small world.

World -> PostgreSQL and sandboxes -> dlt -> DuckDB -> dbt build; then the
regional mart is checked against the world's ground truth, and a second load
and build must change no row count (idempotence).
"""

import json
import os
import shutil
import subprocess
import sys

from ingestion.pipeline import Runner
from ingestion.registry import SOURCES
from pcdata import steps
from sandbox import server
from sandbox.app_database import write_snapshot
from sandbox.config import forget, sandbox_config, use
from sandbox.fault_matrix import SNAPSHOT_DAY
from sandbox.truth import regional as truth
from sandbox.vendors.metabase.app_database import write_beside
from tests.conftest import MODELS_ONLY
from tests.end_to_end.conftest import SCALE, SEED
from warehouse import Settings, query


def _counts(run_sql) -> dict:
    tables = run_sql(
        "select table_schema, table_name from information_schema.tables "
        "where (table_schema like 'raw_%' and table_schema not like '%_staging' and table_name not like '_dlt%') "
        "or table_schema like 'marts_%'"
    )
    counts = {}
    for s, t in tables:
        day = SNAPSHOT_DAY.get((s, t))  # a rerun after midnight adds a day's snapshot: count the latest
        latest = f' where "{day}" = (select max("{day}") from {s}."{t}")' if day else ""
        counts[f"{s}.{t}"] = run_sql(f'select count(*) from {s}."{t}"{latest}')[0][0]
    return counts


def test_demo_prints_a_summary(demo):
    out = demo.run.stdout
    for expected in (
        "raw_app.booking",
        "raw_api_adresse.user_address",
        "raw_sirene.unites_legales",
        "marts_regional.mrt_regional__beneficiaries_monthly",
        "dbt build:",
        "warehouse:",
    ):
        assert expected in out
    assert " fail" not in out.split("dbt build:")[-1] and " error" not in out.split("dbt build:")[-1]


def test_mart_beneficiaries_per_department_equal_the_ground_truth(demo):
    got = dict(
        demo.query(
            "select department_code, sum(new_beneficiaries) from marts_regional.mrt_regional__beneficiaries_monthly "
            "group by 1 having sum(new_beneficiaries) > 0"
        )
    )
    bookings = dict(
        demo.query(
            "select department_code, sum(bookings) from marts_regional.mrt_regional__beneficiaries_monthly "
            "group by 1 having sum(bookings) > 0"
        )
    )
    assert got == dict(truth.beneficiaries_by_department(demo.world))
    assert bookings == dict(truth.bookings_by_department(demo.world))


def test_the_warehouse_file_alone_holds_every_mart(demo):
    """No write-ahead log left after the demo: copying warehouse.duckdb alone copies every mart."""
    wal = demo.warehouse.with_name(demo.warehouse.name + ".wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_every_staging_model_feeds_a_mart(demo):
    """Data that reaches no mart is cost: every staging model has a mart downstream (dbt's manifest of the demo)."""
    manifest = json.loads((demo.home / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    staging = [uid for uid, node in models.items() if node["fqn"][1] == "staging"]
    assert len(staging) >= 50

    def feeds_a_mart(uid: str, seen: set) -> bool:
        for child in manifest["child_map"].get(uid, []):
            if child in models and child not in seen:
                seen.add(child)
                if models[child]["name"].startswith("mrt_") or feeds_a_mart(child, seen):
                    return True
        return False

    assert sorted(models[uid]["name"] for uid in staging if not feeds_a_mart(uid, set())) == []


def test_a_second_run_changes_no_row_count(demo, tmp_path, monkeypatch, app_engine):
    """Idempotence, on a copy of the demo's warehouse and dlt state (the shared demo is only read): the same
    world served again, every source loaded again and `dbt build` again leave every raw and mart count as
    it was. (The demo's other steps read the warehouse; they write no row.)"""
    home = tmp_path / "home"
    home.mkdir()
    demo.copy_warehouse(home / "warehouse.duckdb")
    shutil.copytree(demo.home / "dlt", home / "dlt")
    monkeypatch.setenv("PCDATA__HOME", str(home))
    settings = Settings.load()
    before = _counts(lambda sql: query(settings, sql))  # as dlt and dbt open the file (see warehouse.query)

    state = tmp_path / "sandbox" / "sandbox.json"
    handle = server.start(state, SEED, SCALE)
    try:
        write_snapshot(app_engine, demo.world.snapshot())  # the app database as the demo wrote it
        write_beside(app_engine, demo.world)
        use(sandbox_config(handle, app_engine))
        try:
            outcomes = Runner(settings, app_engine).run_all(list(SOURCES), workers=settings.ingest_workers)
            assert {o.source: o.status for o in outcomes} == dict.fromkeys(SOURCES, "loaded"), [
                (o.source, o.error) for o in outcomes if o.error
            ]
            summary = steps.transform(settings, *MODELS_ONLY)
            assert summary.success, summary.failures
        finally:
            forget()
    finally:
        server.stop(state)
    assert _counts(lambda sql: query(settings, sql)) == before


def test_a_failing_step_is_named_and_exits_non_zero(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "PCDATA__", "DESTINATION__"))}
    # the app database is down: nothing listens on that socket
    env.update(
        PCDATA__HOME=str(tmp_path),
        PII_SALT="x",
        SOURCES__APP__CREDENTIALS=f"postgresql+psycopg2://postgres@/postgres?host={tmp_path}",
    )
    run = subprocess.run(
        [sys.executable, "-m", "pcdata.cli", "ingest", "app"], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 1
    assert "step 'ingest app' failed" in run.stdout and "OperationalError" in run.stdout
