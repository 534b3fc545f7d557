"""Batch source against its sandbox: campaigns with UTM tags, stats, transactional stats, key scrubbing."""

import pytest

from ingestion.pipeline import IngestionFailed, Runner
from sandbox.vendors.batch.server import BatchSandbox
from sandbox.world.campaigns import build


def _expected(world) -> dict:
    mkt = world.slice("marketing", build)
    stats = sum(
        len(c["stats"]) * (3 if isinstance(c["messages"], dict) else 1) for c in mkt.batch_campaigns if c["live"]
    )
    return {
        "campaigns": len(mkt.batch_campaigns),
        "campaign_stats": stats,
        "transactional_stats": len(mkt.batch_transactional),
    }


def _counts(duck) -> dict:
    return {
        t: duck(f"select count(*) from raw_batch.{t}")[0][0]
        for t in ("campaigns", "campaign_stats", "transactional_stats")
    }


def test_full_load_equals_the_world_with_utm_of_appsflyer_campaigns(world, settings, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__BATCH__PAGE_SIZE", "3")  # several pages per app
    result = Runner(settings).run("batch")
    assert result.rows_loaded == _expected(world)
    mkt = world.slice("marketing", build)
    loaded = dict(duck("select campaign_token, utm_campaign from raw_batch.campaigns"))
    assert loaded == {c["campaign_token"]: c["utm"] for c in mkt.batch_campaigns}
    assert set(loaded.values()) <= set(mkt.campaign_by_utm())  # same tags as AppsFlyer campaigns
    assert (
        duck("select count(*) from raw_batch.campaigns where is_ab_test and utm_campaign_version_b is null")[0][0] == 0
    )
    assert duck("select count(distinct operating_system) from raw_batch.transactional_stats")[0][0] == 2


def test_rerun_repulls_the_last_week_without_duplicates(world, settings, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__BATCH__END_DATE", "2026-06-30")
    runner = Runner(settings)
    runner.run("batch")
    monkeypatch.delenv("SOURCES__BATCH__END_DATE")
    second = runner.run("batch")
    mkt = world.slice("marketing", build)
    assert second.rows_loaded["transactional_stats"] == sum(
        r["date"].isoformat() >= "2026-06-24" for r in mkt.batch_transactional
    )
    assert _counts(duck) == _expected(world)


def test_wrong_keys_fail_clearly_and_never_show_the_keys(world, settings, monkeypatch):
    live = BatchSandbox.live_key("sandbox-batch-key", "ios")
    monkeypatch.setenv("SOURCES__BATCH__REST_API_KEY", "not-the-rest-key-s3cret")
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("batch")
    message = str(err.value)
    assert "HTTP 401" in message and "AUTHENTICATION_INVALID" in message
    assert "s3cret" not in message and live not in message and "***" in message
    monkeypatch.setenv("SOURCES__BATCH__REST_API_KEY", "sandbox-batch-key")
    monkeypatch.setenv("SOURCES__BATCH__API_KEYS", '{"ios": "WRONGLIVEs3cret", "android": "WRONGLIVEs3cret2"}')
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("batch")
    assert "HTTP 401" in str(err.value) and "s3cret" not in str(err.value)


@pytest.mark.parametrize("faults", [[429], [503, "drop", "malformed"]])
def test_rate_limit_and_server_errors_are_recovered_without_loss(world, settings, duck, vendor, faults):
    vendor("batch").faults(fail_next=faults)
    Runner(settings).run("batch")
    assert _counts(duck) == _expected(world)
    assert vendor("batch").stats()["faults"] == len(faults)


def test_a_dropped_connection_error_does_not_leak_the_live_key(world, settings, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__BATCH__BASE_URL", "http://127.0.0.1:9")  # nothing listens: the error names the URL
    monkeypatch.setenv("SOURCES__BATCH__MAX_ATTEMPTS", "1")
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("batch")
    assert "ConnectionError" in str(err.value)
    assert BatchSandbox.live_key("sandbox-batch-key", "android") not in str(err.value)
    assert BatchSandbox.live_key("sandbox-batch-key", "ios") not in str(err.value)
