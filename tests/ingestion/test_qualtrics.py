"""Qualtrics source against its sandbox: paged survey list, async exports polled with back-off,
incremental per survey."""

import re

import pytest

from ingestion.pipeline import IngestionFailed, Runner
from sandbox.vendors.qualtrics.server import EXPORT_POLLS
from sandbox.vendors.qualtrics.world import build

PROGRESS = re.compile(r"^/API/v3/surveys/[^/]+/export-responses/ES_[^/]+$")


@pytest.fixture
def qx(vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__QUALTRICS__POLL_INTERVAL", "0.02")
    monkeypatch.setenv("SOURCES__QUALTRICS__CALLS_PER_MINUTE", "100000")
    monkeypatch.setenv("SOURCES__QUALTRICS__MAX_CONCURRENT_EXPORTS", "4")
    return vendor("qualtrics")


def _active(data) -> list[dict]:
    return [s for s in data.surveys if s["isActive"]]


def test_full_load_reads_every_page_and_every_active_survey(world, settings, duck, qx):
    data = world.slice("qualtrics", build)
    result = Runner(settings).run("qualtrics")
    assert len(data.surveys) > 100  # two pages of the survey list
    assert result.rows_loaded["surveys"] == len(data.surveys)
    expected = {r["ResponseId"]: s["id"] for s in _active(data) for r in data.responses[s["id"]]}
    assert dict(duck("select response_id, survey_id from raw_qualtrics.responses")) == expected
    # embedded data kept: who answered (ids, never an email) and where they live
    young = next(s for s in data.surveys if s["_kind"] == "young_18")
    want = {r["ResponseId"]: (r["user_id"], r["region"], r["department"]) for r in data.responses[young["id"]]}
    got = duck(
        "select response_id, user_id, region, department from raw_qualtrics.responses"
        f" where survey_id = '{young['id']}'"
    )
    assert {r: (u, reg, dep) for r, u, reg, dep in got} == want
    partners = next(s for s in data.surveys if s["_kind"] == "partners")
    assert duck(f"select count(venue_id) from raw_qualtrics.responses where survey_id = '{partners['id']}'")[0][
        0
    ] == len(data.responses[partners["id"]])
    # answers: labels, question texts, no free text; no personal columns at all
    q3 = dict(
        duck(
            "select r.response_id, a.answer from raw_qualtrics.responses r join raw_qualtrics.responses__answers a "
            f"on a._dlt_parent_id = r._dlt_id where a.question_id = 'Q3' and r.survey_id = '{young['id']}'"
        )
    )
    assert q3 == {r["ResponseId"]: r["Q3"] for r in data.responses[young["id"]]}
    assert not duck(
        "select count(*) from raw_qualtrics.responses__answers where import_id like '%\\_TEXT' escape '\\'"
    )[0][0]
    columns = {
        c for (c,) in duck("select column_name from information_schema.columns where table_schema = 'raw_qualtrics'")
    }
    assert (
        not {"ip_address", "recipient_email", "recipient_first_name", "recipient_last_name", "location_latitude"}
        & columns
    )
    # each job polled until complete and no more: the client waits between polls instead of spinning
    calls = [p for _, p in qx.stats()["calls"]]
    assert sum(bool(PROGRESS.match(p)) for p in calls) == EXPORT_POLLS * len(_active(data))


def test_rerun_exports_from_the_last_recorded_date_and_never_duplicates(world, settings, duck, qx):
    data = world.slice("qualtrics", build)
    runner = Runner(settings)
    runner.run("qualtrics")
    n = sum(len(data.responses[s["id"]]) for s in _active(data))
    second = runner.run("qualtrics")
    # each survey's export starts at its last recorded date: only that boundary response comes back
    assert second.rows_loaded.get("responses", 0) <= len(_active(data))
    assert duck("select count(*), count(distinct response_id) from raw_qualtrics.responses")[0] == (n, n)
    assert duck("select count(*) from raw_qualtrics.responses__answers")[0][0] == sum(
        1
        for s in _active(data)
        for r in data.responses[s["id"]]
        for q in data.questions[s["id"]]
        if not q[2].endswith("_TEXT") and r.get(q[0])
    )


def test_wrong_token_fails_with_a_clear_message_that_hides_the_token(settings, qx, monkeypatch):
    monkeypatch.setenv("SOURCES__QUALTRICS__API_TOKEN", "not-the-token-s3cret")
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("qualtrics")
    assert "HTTP 401" in str(err.value) and "credentials" in str(err.value) and "Invalid API token" in str(err.value)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("faults", [[429, 429], [503, "drop", "malformed"]])
def test_quota_and_server_errors_are_recovered_without_loss(world, settings, duck, qx, faults):
    data = world.slice("qualtrics", build)
    qx.faults(fail_next=faults)
    Runner(settings).run("qualtrics")
    n = sum(len(data.responses[s["id"]]) for s in _active(data))
    assert duck("select count(*), count(distinct response_id) from raw_qualtrics.responses")[0] == (n, n)
    assert qx.stats()["faults"] == len(faults)


def test_cut_export_file_is_downloaded_again(world, settings, duck, qx):
    """A ZIP cut in transit (200 with half the bytes) is asked again, not loaded half."""
    data = world.slice("qualtrics", build)
    qx.rate_limit(100_000, 60)
    # list (2 pages), the first batch's 4 starts, one round of 4 polls, the 2nd poll of the first job: then its file
    qx.faults(fail_next=[None] * (2 + 4 + 4 + 1) + ["malformed", 500])
    Runner(settings).run("qualtrics")
    n = sum(len(data.responses[s["id"]]) for s in _active(data))
    assert duck("select count(distinct response_id) from raw_qualtrics.responses")[0][0] == n
    calls = [p for _, p in qx.stats()["calls"]]
    assert qx.stats()["faults"] == 2 and calls[11].endswith("/file") and calls[12] == calls[11]


def test_rate_limit_429_without_retry_after_is_recovered(world, settings, duck, qx, monkeypatch):
    data = world.slice("qualtrics", build)
    monkeypatch.delenv("RUNTIME__REQUEST_BACKOFF_FACTOR")  # the product's own back-off must outwait the window
    qx.rate_limit(10, 1.0)
    Runner(settings).run("qualtrics")
    assert qx.stats()["rate_limited"] > 0
    n = sum(len(data.responses[s["id"]]) for s in _active(data))
    assert duck("select count(*), count(distinct response_id) from raw_qualtrics.responses")[0] == (n, n)


def test_schema_drift_adds_an_embedded_data_column(world, settings, duck, qx):
    qx.faults(schema_drift=True)
    Runner(settings).run("qualtrics")
    assert duck("select count(campaign) from raw_qualtrics.responses")[0][0] > 0
