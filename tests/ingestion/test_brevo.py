"""Brevo source against its sandbox: all newsletter pages, templates, transactional events, x-sib reset."""

import time
from datetime import datetime

import pytest

from ingestion.pipeline import IngestionFailed, Runner
from ingestion.sources.pii import pseudonymise
from sandbox.world.campaigns import build

SALT = "test-salt"
KEPT = ("delivered", "opened", "unsubscribed")


def _events(world, until: str | None = None) -> list[dict]:
    mkt = world.slice("marketing", build)
    return [e for e in mkt.email_events if e["event"] in KEPT and (until is None or e["date"].isoformat() < until)]


def _counts(duck) -> dict:
    return {
        t: duck(f"select count(*) from raw_brevo.{t}")[0][0]
        for t in ("newsletters", "templates", "transactional_events")
    }


def _expected(world) -> dict:
    mkt = world.slice("marketing", build)
    return {
        "newsletters": len(mkt.newsletters),
        "templates": len(mkt.templates),
        "transactional_events": len(_events(world)),
    }


def test_full_load_reads_every_page_and_hashes_emails(world, settings, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__BREVO__PAGE_SIZE", "2")  # newsletters over several pages, every one read
    monkeypatch.setenv("SOURCES__BREVO__EVENTS_PAGE_SIZE", "500")
    result = Runner(settings).run("brevo")
    assert result.rows_loaded == _expected(world)
    mkt = world.slice("marketing", build)
    assert dict(duck("select campaign_id, tag from raw_brevo.newsletters")) == {
        n["id"]: n["tag"] for n in mkt.newsletters
    }
    assert {t for (t,) in duck("select tag from raw_brevo.newsletters")} <= set(mkt.campaign_by_utm())
    assert duck("select sum(unique_views), sum(delivered) from raw_brevo.newsletters")[0] == (
        sum(n["uniqueViews"] for n in mkt.newsletters),
        sum(n["delivered"] for n in mkt.newsletters),
    )
    hashes = {h for (h,) in duck("select distinct email_hash from raw_brevo.transactional_events")}
    assert hashes == {pseudonymise(e["email"], SALT) for e in _events(world)}
    columns = {
        c for (c,) in duck("select column_name from information_schema.columns where table_schema = 'raw_brevo'")
    }
    assert not columns & {"email", "ip", "from"}
    assert not any(
        "@example.org" in str(v) for row in duck("select * from raw_brevo.transactional_events") for v in row
    )


def test_incremental_rerun_repulls_the_last_day_without_duplicates(world, settings, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__BREVO__END_DATE", "2026-06-30")
    runner = Runner(settings)
    runner.run("brevo")
    monkeypatch.delenv("SOURCES__BREVO__END_DATE")
    second = runner.run("brevo")
    assert second.rows_loaded["transactional_events"] < len(_events(world)) // 2  # only the new window, not the history
    assert _counts(duck) == _expected(world)
    assert duck("select count(*) from (select distinct message_id, event, date from raw_brevo.transactional_events)")[
        0
    ][0] == len(_events(world))


def test_wrong_key_fails_with_a_clear_message_that_hides_it(settings, monkeypatch):
    monkeypatch.setenv("SOURCES__BREVO__API_KEY", "xkeysib-not-the-key-s3cret")
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("brevo")
    assert "HTTP 401" in str(err.value) and "Key not found" in str(err.value)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("faults", [[429, 503], ["drop", "malformed"]])
def test_rate_limit_and_server_errors_are_recovered_without_loss(world, settings, duck, vendor, faults):
    vendor("brevo").faults(fail_next=faults)
    Runner(settings).run("brevo")
    assert _counts(duck) == _expected(world)
    assert vendor("brevo").stats()["faults"] == len(faults)


def test_429_waits_for_the_sib_reset_header(world, settings, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__BREVO__START_DATE", "2026-09-01")  # a few calls only
    vendor("brevo").rate_limit(4, 3.0)  # a tight hourly window: 4 calls per 3 s, reset given in x-sib-ratelimit-reset
    started = time.monotonic()
    Runner(settings).run("brevo")
    stats = vendor("brevo").stats()
    assert stats["rate_limited"] >= 1
    # each refusal was followed by a wait of the reset time, not a burst of quick retries
    assert stats["rate_limited"] <= stats["served"] // 4 + 1
    assert time.monotonic() - started >= 3
    mkt = world.slice("marketing", build)
    assert _counts(duck)["newsletters"] == len(mkt.newsletters)
    assert _counts(duck)["transactional_events"] == sum(e["date"] >= datetime(2026, 9, 1) for e in _events(world))
