"""The main job end to end, as a user runs it: `pcdata demo` on a small world.

World -> PostgreSQL and sandboxes -> dlt -> DuckDB -> dbt build; then the
regional mart is checked against the world's ground truth, and a second run
must change no row count (idempotence).
"""

import os
import subprocess
import sys

import duckdb
import pytest

from ingestion.sandbox.world import build_world, truth

SEED, SCALE = 11, 0.15


def _demo(home) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "PII_SALT", "PCDATA_"))}
    env.update(PCDATA_HOME=str(home), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "pcdata.cli", "demo", "--seed", str(SEED), "--scale", str(SCALE)],
                          env=env, capture_output=True, text=True, timeout=900)


def _counts(warehouse) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        tables = conn.execute("select table_schema, table_name from information_schema.tables "
                              "where (table_schema like 'raw_%' and table_schema not like '%_staging' and table_name not like '_dlt%') "
                              "or table_schema like 'marts_%'").fetchall()
        return {f"{s}.{t}": conn.execute(f'select count(*) from {s}."{t}"').fetchone()[0] for s, t in tables}


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo")
    first = _demo(home)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return home, first


def test_demo_prints_a_summary(demo_home):
    _, run = demo_home
    for expected in ("raw_app.booking", "raw_api_adresse.user_address", "raw_sirene.unites_legales", "dbt build:", "warehouse:"):
        assert expected in run.stdout
    assert " fail" not in run.stdout.split("dbt build:")[-1] and " error" not in run.stdout.split("dbt build:")[-1]


def test_mart_beneficiaries_per_department_equal_the_ground_truth(demo_home):
    home, _ = demo_home
    expected = truth.beneficiaries_by_department(build_world(SEED, SCALE))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        got = dict(conn.execute("select department_code, sum(new_beneficiaries) from marts_regional.mrt_regional__beneficiaries_monthly "
                                "group by 1 having sum(new_beneficiaries) > 0").fetchall())
        bookings = dict(conn.execute("select department_code, sum(bookings) from marts_regional.mrt_regional__beneficiaries_monthly "
                                     "group by 1 having sum(bookings) > 0").fetchall())
    assert got == dict(expected)
    assert bookings == dict(truth.bookings_by_department(build_world(SEED, SCALE)))


def test_second_run_changes_no_row_count(demo_home):
    home, _ = demo_home
    before = _counts(home / "warehouse.duckdb")
    again = _demo(home)
    assert again.returncode == 0, again.stdout[-3000:]
    assert _counts(home / "warehouse.duckdb") == before


def test_a_failing_step_is_named_and_exits_non_zero(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "PCDATA_"))}
    # the app database is down: nothing listens on that socket
    env.update(PCDATA_HOME=str(tmp_path), PII_SALT="x", PCDATA_APP_DB_URL=f"postgresql+psycopg2://postgres@/postgres?host={tmp_path}")
    run = subprocess.run([sys.executable, "-m", "pcdata.cli", "ingest", "app"], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert "step 'ingest app' failed" in run.stdout and "OperationalError" in run.stdout
