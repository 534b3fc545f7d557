"""Bookings hard-deleted in the app database leave the marts, as the world's ground truth says.

On a copy of the demo's warehouse and dlt state (the shared demo is left as it is):
the app database is written as the demo loaded it, ten bookings are deleted
in PostgreSQL, `app` is ingested again and dbt rebuilds what reads bookings
(incremental models included). The regional mart must then equal the ground
truth of the world in which those bookings were deleted.
"""

from __future__ import annotations

import shutil

import sqlalchemy as sa

from ingestion.pipeline import Runner
from pcdata import steps
from sandbox.app_database import write_snapshot
from sandbox.config import SANDBOX_PII_SALT
from sandbox.truth import regional as truth
from tests.conftest import MODELS_ONLY
from warehouse import Settings, query


def test_deleted_bookings_stop_being_counted(demo, tmp_path, monkeypatch, app_engine):
    home = tmp_path / "home"
    home.mkdir()
    demo.copy_warehouse(home / "warehouse.duckdb")
    shutil.copytree(demo.home / "dlt", home / "dlt")
    monkeypatch.setenv("PCDATA__HOME", str(home))
    monkeypatch.setenv("PII_SALT", SANDBOX_PII_SALT)
    settings = Settings.load()

    snap = demo.world.snapshot()
    write_snapshot(app_engine, snap)  # the app database as the demo loaded it
    gone = [b["id"] for b in snap["booking"] if b["status"] != "CANCELLED"][::97][:10]
    assert len(gone) == 10
    with app_engine.begin() as conn:
        conn.execute(sa.text(f"delete from booking where id in ({', '.join(map(str, gone))})"))

    Runner(settings, app_engine).run("app")
    # what lies between the bookings and the mart (incremental models included), without dbt's tests
    steps.transform(settings, "--select", "int_regional__bookings+,+mrt_regional__beneficiaries_monthly", *MODELS_ONLY)

    flagged = query(settings, "select id from raw_app.booking where _deleted_at is not null order by 1")
    assert [i for (i,) in flagged] == sorted(gone)
    by_department = dict(
        query(
            settings,
            "select department_code, sum(bookings) from marts_regional.mrt_regional__beneficiaries_monthly "
            "group by 1 having sum(bookings) > 0",
        )
    )
    after = truth.bookings_by_department(demo.world.with_hard_deletes("booking", gone))
    assert sum(truth.bookings_by_department(demo.world).values()) - sum(after.values()) == 10
    assert by_department == dict(after)
