"""The Firebase export source on daily GA4 files written from the world: full load, new days, a rewritten
day inside the lookback, and a malformed file that stops the run without losing anything."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from ingestion.pipeline import IngestionFailed, Runner
from sandbox.vendors.firebase.export import by_day, file_name, write_day

DAYS = 12  # the world's last days: enough for a lookback, small enough to stay quick


@pytest.fixture(scope="module")
def days(world) -> dict[date, list[dict]]:
    every = by_day(world)
    return {d: every[d] for d in sorted(every)[-DAYS:]}


@pytest.fixture
def bucket(tmp_path, settings, monkeypatch) -> Path:
    root = tmp_path / "export"
    root.mkdir()
    monkeypatch.setenv("SOURCES__FIREBASE__BUCKET_URL", root.resolve().as_uri())
    return root


def _write(bucket: Path, days: dict[date, list[dict]], which) -> None:
    for day in which:
        write_day(bucket, day, days[day])


def _last_day(runner: Runner) -> str | None:
    state = runner.pipeline("firebase").state.get("sources", {}).get("firebase", {})
    return state.get("resources", {}).get("events", {}).get("last_day")


def _per_day(duck) -> dict[str, int]:
    return dict(duck("select event_date, count(*) from raw_firebase.events group by 1"))


def _expected(days, which) -> dict[str, int]:
    return {f"{d:%Y%m%d}": len(days[d]) for d in which}


def test_full_load_keeps_the_export_shape_and_params_nested(settings, bucket, days, duck):
    _write(bucket, days, days)
    result = Runner(settings).run("firebase")
    assert result.rows_loaded == {"events": sum(len(rows) for rows in days.values())}
    assert _per_day(duck) == _expected(days, days)
    first = next(iter(days.values()))[0]
    (params, app_info, ts, user, name) = duck(
        "select event_params, app_info, event_timestamp, user_id, event_name from raw_firebase.events "
        f"where user_pseudo_id = '{first['user_pseudo_id']}' and event_timestamp = {first['event_timestamp']}"
    )[0]
    assert (ts, user, name) == (first["event_timestamp"], first["user_id"], first["event_name"])
    assert json.loads(params) == first["event_params"]  # the nested list, as exported: key + the four value slots
    assert json.loads(app_info)["version"] == first["app_info"]["version"]


def test_new_days_load_and_a_day_rewritten_within_the_lookback_replaces_itself(settings, bucket, days, duck):
    runner = Runner(settings)
    ordered = sorted(days)
    _write(bucket, days, ordered[:8])
    runner.run("firebase")
    assert _last_day(runner) == ordered[7].isoformat()

    # a new day: it loads, with the last 3 days already loaded read again (GA4 rewrites them)
    _write(bucket, days, ordered[8:9])
    second = runner.run("firebase")
    assert second.rows_loaded == {"events": sum(len(days[d]) for d in ordered[5:9])}
    assert _per_day(duck) == _expected(days, ordered[:9])  # nothing twice

    # GA4 rewrites yesterday's table with a late event and without one it had: the day is replaced whole
    late_day = ordered[8]
    rewritten = [{**days[late_day][0], "event_timestamp": days[late_day][0]["event_timestamp"] + 1}]
    rewritten += days[late_day][2:]
    write_day(bucket, late_day, rewritten)
    # a day older than the lookback rewritten too: not read again
    write_day(bucket, ordered[0], days[ordered[0]][:1])
    runner.run("firebase")
    assert _per_day(duck) == {**_expected(days, ordered[:9]), f"{late_day:%Y%m%d}": len(rewritten)}
    stamps = {
        ts for (ts,) in duck(f"select event_timestamp from raw_firebase.events where event_date = '{late_day:%Y%m%d}'")
    }
    assert stamps == {r["event_timestamp"] for r in rewritten}

    assert runner.run("firebase").rows_loaded == {"events": sum(len(days[d]) for d in ordered[6:8]) + len(rewritten)}
    assert _per_day(duck) == {**_expected(days, ordered[:9]), f"{late_day:%Y%m%d}": len(rewritten)}


@pytest.mark.parametrize(
    "line, problem",
    [
        ('{"event_date": "DAY", "event_timestamp": 1', "not valid JSON"),
        ('{"event_date": "DAY", "event_timestamp": 1, "user_pseudo_id": "x"}', "no event_name"),
    ],
)
def test_a_malformed_file_stops_the_run_naming_file_and_line_and_loses_nothing(
    settings, bucket, days, duck, line, problem
):
    runner = Runner(settings)
    ordered = sorted(days)
    _write(bucket, days, ordered[:4])
    runner.run("firebase")
    before = _per_day(duck)

    # the next export: a good day, then a day whose 3rd line is cut or lacks a field, then a good day
    _write(bucket, days, ordered[4:7])
    bad_day = ordered[5]
    good = [json.dumps(r) for r in days[bad_day]]
    lines = [*good[:2], line.replace("DAY", f"{bad_day:%Y%m%d}"), *good[2:]]
    (bucket / file_name(bad_day)).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))

    with pytest.raises(IngestionFailed) as failed:
        runner.run("firebase")
    message = str(failed.value)
    assert f"{file_name(bad_day)}, line 3: {problem}" in message
    assert "fix or re-export" in message and "run again" in message
    assert _per_day(duck) == before  # nothing of the run loaded, the days before untouched
    assert _last_day(runner) == ordered[3].isoformat()  # the state did not move past it

    write_day(bucket, bad_day, days[bad_day])  # re-exported
    runner.run("firebase")
    assert _per_day(duck) == _expected(days, ordered[:7])
    assert _last_day(runner) == ordered[6].isoformat()
