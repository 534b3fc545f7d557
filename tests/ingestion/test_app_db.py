"""The app database source against a real PostgreSQL written from the world."""

from datetime import datetime

import sqlalchemy as sa

from ingestion.pipeline import Runner
from ingestion.sources.pii import pseudonymise
from sandbox.app_database import COLUMNS, write_snapshot
from tests.conftest import SALT

T1 = datetime(2026, 5, 1)


def test_full_load_equals_the_world_and_keeps_no_personal_data(world, app_engine, settings, duck):
    snap = world.snapshot()
    write_snapshot(app_engine, snap)
    result = Runner(settings, app_engine).run("app")

    for table in COLUMNS:
        assert result.rows_loaded[table] == len(snap[table])
        assert duck(f'select count(*) from raw_app."{table}"')[0][0] == len(snap[table])
    columns = {
        c
        for (c,) in duck(
            "select column_name from information_schema.columns where table_schema = 'raw_app' and table_name = 'user'"
        )
    }
    assert {"email", "first_name", "last_name", "phone_number"}.isdisjoint(columns)
    # the email travels as the same salted hash the other sources use to join
    first = snap["user"][0]
    assert duck(f"select email_hash from raw_app.user where id = {first['id']}")[0][0] == pseudonymise(
        first["email"], SALT
    )


def test_incremental_rerun_loads_only_what_changed(world, app_engine, settings, duck):
    runner = Runner(settings, app_engine)
    write_snapshot(app_engine, world.snapshot(T1))
    runner.run("app")

    later = world.snapshot()
    write_snapshot(app_engine, later)
    second = runner.run("app")
    for table, rows in later.items():
        changed = sum(1 for r in rows if r["dateUpdated"] > T1)
        assert second.rows_loaded.get(table, 0) == changed, table
        # merged on id: the raw table now equals the later snapshot, no duplicates
        assert duck(f'select count(*), count(distinct id) from raw_app."{table}"')[0] == (len(rows), len(rows))

    assert runner.run("app").rows_loaded == {}  # nothing changed since: nothing read
    booking = next(
        b for b in later["booking"] if b["status"] == "CANCELLED" and b["dateCreated"] <= T1 < b["cancellationDate"]
    )
    assert duck(f"select status from raw_app.booking where id = {booking['id']}")[0][0] == "CANCELLED"


def test_rows_deleted_in_postgresql_are_flagged_in_raw(world, app_engine, settings, duck):
    runner = Runner(settings, app_engine)
    write_snapshot(app_engine, world.snapshot())
    runner.run("app")
    assert duck("select count(*) from raw_app.booking where _deleted_at is not null")[0][0] == 0

    # the backend hard-deletes ten bookings; nothing else changes
    gone = [b["id"] for b in world.snapshot()["booking"] if b["status"] != "CANCELLED"][:10]
    with app_engine.begin() as conn:
        conn.execute(sa.text(f"delete from booking where id in ({', '.join(map(str, gone))})"))
    second = runner.run("app")
    assert second.rows_loaded == {"booking": 10}  # the ten tombstones, nothing re-read

    deleted = duck("select id, status, _deleted_at is not null from raw_app.booking where _deleted_at is not null")
    assert sorted(i for i, _, _ in deleted) == sorted(gone)
    assert all(status is not None for _, status, _ in deleted)  # the last known row, kept whole
    live = duck("select count(*) from raw_app.booking where _deleted_at is null")[0][0]
    assert live == len(world.with_hard_deletes("booking", gone).snapshot()["booking"])
    assert runner.run("app").rows_loaded == {}  # flagged once: the next run has nothing to add
