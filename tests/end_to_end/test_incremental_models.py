"""Incremental models: a run after new (and late) data gives exactly the rows a full refresh gives.

On a copy of the demo's warehouse (the shared demo is left as it is), with the
incremental models only (their parents are the demo's views):
1. the last days of the raw inputs are held out (bookings and deposits changed
   in the last days, the Firebase export days after the cut, Brevo's last
   events, opens of old messages among them) plus late data:
   events of the days just before the cut, which Firebase adds when it
   rewrites a day;
2. `--full-refresh` builds the incremental models on what is left;
3. the held-out rows come back, and an old booking is cancelled with a
   date_updated a few hours before the models' watermark (committed late);
4. an incremental run, kept aside; then a `--full-refresh` of the same data:
   every incremental model must hold the same rows (EXCEPT ALL both ways).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import duckdb
import pytest

from warehouse import REPO

INCREMENTAL = "config.materialized:incremental"
DAYS_HELD_OUT = 2
HELD_OUT = {"events": "raw_firebase", "booking": "raw_app", "deposit": "raw_app", "transactional_events": "raw_brevo"}


def _run(*args: str) -> None:
    """dbt run of the incremental models, in a process of its own: DuckDB keeps a file open in the process
    that opened it, and the comparison below attaches both warehouses."""
    run = subprocess.run(
        [sys.executable, "-c", DBT_RUN, "run", "--select", INCREMENTAL, *args],
        env=os.environ.copy(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


DBT_RUN = (
    "import sys; from warehouse import Settings; from warehouse.dbt import dbt; "
    "summary = dbt(Settings.load(), *sys.argv[1:]); print(summary.failures); sys.exit(0 if summary.success else 1)"
)


def _incremental_models(conn) -> list[tuple[str, str]]:
    return conn.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_name in "
        "('int_regional__bookings', 'int_regional__user_monthly_activity', 'int_ml__app_events', "
        "'int_marketing__transactional_messages', 'mrt_ml__recommendation_interactions') order by 2"
    ).fetchall()


@pytest.fixture
def home(demo, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    demo.copy_warehouse(home / "warehouse.duckdb")
    monkeypatch.setenv("PCDATA__HOME", str(home))
    return home


def test_an_incremental_run_after_new_and_late_data_equals_a_full_refresh(home):
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        (last_day,) = conn.execute("select max(event_date) from raw_firebase.events").fetchone()
        (last_update,) = conn.execute("select max(date_updated) from raw_app.booking").fetchone()
        conn.execute("create schema held_out")
        # the Firebase days after the cut, and one event in five of the two days before it (late events)
        conn.execute(
            f"create table held_out.events as select rowid as row_id, * from raw_firebase.events "
            f"where strptime(event_date, '%Y%m%d') > strptime('{last_day}', '%Y%m%d') - interval {DAYS_HELD_OUT} day "
            f"or (strptime(event_date, '%Y%m%d') > strptime('{last_day}', '%Y%m%d') - interval {DAYS_HELD_OUT + 2} "
            f"day and hash(event_timestamp) % 5 = 0)"
        )
        for table in ("booking", "deposit"):
            conn.execute(
                f"create table held_out.{table} as select rowid as row_id, * from raw_app.{table} "
                f"where date_updated > timestamp '{last_update}' - interval {DAYS_HELD_OUT} day"
            )
        # Brevo: the last days of events (opens of messages sent long before among them), and one event in
        # five of the day before (re-pulled late: older than the watermark, within brevo_lookback_days)
        (newest_event,) = conn.execute("select max(date) from raw_brevo.transactional_events").fetchone()
        conn.execute(
            "create table held_out.transactional_events as "
            "select rowid as row_id, * from raw_brevo.transactional_events "
            f"where date > ? - interval {DAYS_HELD_OUT} day "
            f"or (date > ? - interval {DAYS_HELD_OUT + 1} day and hash(message_id, event) % 5 = 0)",
            [newest_event, newest_event],
        )
        held = {t: conn.execute(f"select count(*) from held_out.{t}").fetchone()[0] for t in HELD_OUT}
        assert all(held.values()), held
        # DuckDB's rowid: the app's and Firebase's raw tables have no _dlt_id (loaded as Arrow)
        for table, schema in HELD_OUT.items():
            conn.execute(f"delete from {schema}.{table} where rowid in (select row_id from held_out.{table})")
        (watermark,) = conn.execute("select max(date_updated) from raw_app.booking").fetchone()

    _run("--full-refresh")

    with duckdb.connect(str(warehouse)) as conn:
        (before,) = conn.execute("select count(*) from intermediate.int_ml__app_events").fetchone()
        for table, schema in HELD_OUT.items():
            conn.execute(f"insert into {schema}.{table} by name select * exclude (row_id) from held_out.{table}")
        # committed late: cancelled 6 hours before the newest change the models hold (app_lookback_days is 1)
        (late,) = conn.execute(
            "select min(id) from raw_app.booking where status != 'CANCELLED' and _deleted_at is null "
            f"and date_created < timestamp '{watermark}' - interval 30 day"
        ).fetchone()
        conn.execute(
            f"update raw_app.booking set status = 'CANCELLED', cancellation_date = timestamp '{watermark}' "
            f"- interval 6 hour, date_updated = timestamp '{watermark}' - interval 6 hour where id = {late}"
        )

    _run()

    # the incremental run's result aside, and the full refresh in the warehouse's own file: the three runs
    # share the home's dbt parse (another file is another profile to dbt, so a full parse)
    incremental = home / "incremental.duckdb"
    shutil.copy2(warehouse, incremental)
    _run("--full-refresh")

    with duckdb.connect(str(incremental), read_only=True) as conn:
        conn.execute(f"attach '{warehouse}' as full_refresh (read_only)")
        models = _incremental_models(conn)
        assert [name for _, name in models] == [
            "int_marketing__transactional_messages",
            "int_ml__app_events",
            "int_regional__bookings",
            "int_regional__user_monthly_activity",
            "mrt_ml__recommendation_interactions",
        ]
        for schema, name in models:
            got, want = f"select * from {schema}.{name}", f"select * from full_refresh.{schema}.{name}"
            (extra,) = conn.execute(f"select count(*) from ({got} except all {want})").fetchone()
            (missing,) = conn.execute(f"select count(*) from ({want} except all {got})").fetchone()
            (rows,) = conn.execute(f"select count(*) from {schema}.{name}").fetchone()
            assert (extra, missing) == (0, 0) and rows > 0, (name, extra, missing, rows)
        # the run was incremental and caught the new and the late data
        (after,) = conn.execute("select count(*) from intermediate.int_ml__app_events").fetchone()
        assert after > before
        cancelled = conn.execute(
            "select is_cancelled_booking from marts_ml.mrt_ml__recommendation_interactions "
            f"where interaction_id = 'booking-{late}'"
        ).fetchall()
        assert cancelled == [(True,)]
        (status,) = conn.execute(
            f"select booking_status from intermediate.int_regional__bookings where booking_id = {late}"
        ).fetchone()
        assert status == "CANCELLED"
