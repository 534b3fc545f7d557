"""Instagram source against its sandbox: account insights (both metric shapes), posts, throttling, token hygiene."""

from datetime import date, timedelta

import pytest

from ingestion.pipeline import IngestionFailed, Runner
from sandbox.vendors.instagram.world import instagram as ig_slice

START, END = date(2026, 10, 16), date(2026, 10, 31)


@pytest.fixture
def runner(settings, monkeypatch):
    monkeypatch.setenv("SOURCES__INSTAGRAM__START_DATE", START.isoformat())
    monkeypatch.setenv("SOURCES__INSTAGRAM__END_DATE", END.isoformat())
    monkeypatch.setenv("SOURCES__INSTAGRAM__PAGE_SIZE", "10")
    return Runner(settings)


def _expected_days(world, start, end):
    return {(a, d, m): v for a, d, m, v in ig_slice(world).day_rows(start, end)}


def test_full_load_equals_the_world_and_total_value_metrics_are_not_null(world, runner, duck, vendor):
    result = runner.run("instagram")
    expected = _expected_days(world, START, END)
    got = {
        (a, d, m): v
        for a, d, m, v in duck("select account_id, date, metric, value from raw_instagram.account_daily_insights")
    }
    assert got == expected
    # `views` (metric_type=total_value) must not be parsed as NULL
    assert (
        duck("select count(*) from raw_instagram.account_daily_insights where metric = 'views' and value is null")[0][0]
        == 0
    )
    assert {m for (_, _, m) in got} == {"reach", "follower_count", "views", "accounts_engaged", "total_interactions"}
    data = ig_slice(world)
    assert result.rows_loaded["posts"] == len(data.posts)
    rows = {
        p: (avail, views, likes, pa)
        for p, avail, views, likes, pa in duck(
            "select post_id, insights_available, views, likes, profile_activity from raw_instagram.posts"
        )
    }
    recent = {p["id"] for p in data.posts if p["timestamp"] > world.end - timedelta(hours=48)}
    for post in data.posts:
        insights = data.post_insights[post["id"]]
        if post["id"] in recent:  # insights lag: empty, kept NULL (not 0)
            assert rows[post["id"]] == (False, None, None, None)
        else:
            assert rows[post["id"]] == (True, insights["views"], insights["likes"], insights.get("profile_activity"))
    paged = [path for _, path in vendor("instagram").stats()["calls"] if path.endswith("/media")]
    assert len(paged) >= len(data.posts) // 10  # paging.next followed
    assert duck("select count(*) from raw_instagram.accounts")[0][0] == 2


def test_rerun_repulls_the_last_seven_days_and_replaces_them(world, runner, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__INSTAGRAM__END_DATE", "2026-10-25")
    runner.run("instagram")
    monkeypatch.setenv("SOURCES__INSTAGRAM__END_DATE", END.isoformat())
    second = runner.run("instagram")
    # ds-7 of the previous end (10-18) .. the new end (10-31): 14 days x 5 metrics x 2 accounts
    assert second.rows_loaded["account_daily_insights"] == 14 * 5 * 2
    assert date(2026, 10, 18) > START
    assert (
        duck("select count(*), count(distinct (account_id, date, metric)) from raw_instagram.account_daily_insights")[0]
        == (len(_expected_days(world, START, END)),) * 2
    )
    # only posts published within post_refresh_days (30) of the last end are re-read
    cutoff = date(2026, 10, 25) - timedelta(days=30)
    fresh = [p for p in ig_slice(world).posts if p["timestamp"].date() >= cutoff]
    assert second.rows_loaded.get("posts", 0) == len(fresh)
    assert (
        duck("select count(*), count(distinct post_id) from raw_instagram.posts")[0]
        == (len(ig_slice(world).posts),) * 2
    )


def test_wrong_token_fails_clearly_without_showing_it(runner, monkeypatch, vendor):
    monkeypatch.setenv("SOURCES__INSTAGRAM__ACCESS_TOKEN", "EAAG-not-the-token-s3cret")
    with pytest.raises(IngestionFailed) as err:
        runner.run("instagram")
    message = str(err.value)
    assert "OAuthException" in message and "190" in message and "access_token" in message
    assert "s3cret" not in message


def test_dropped_connections_never_print_the_url_with_the_token(runner, monkeypatch, vendor):
    monkeypatch.setenv("SOURCES__INSTAGRAM__MAX_ATTEMPTS", "2")
    vendor("instagram").faults(fail_next=["drop", "drop"])
    with pytest.raises(IngestionFailed) as err:
        runner.run("instagram")
    assert "sandbox-instagram-key" not in str(err.value) and "failed after retries" in str(err.value)


@pytest.mark.parametrize("faults", [[429, 429], [503, "drop"], ["malformed"]])
def test_throttling_and_server_errors_are_recovered_without_loss(world, runner, duck, vendor, faults):
    vendor("instagram").faults(fail_next=faults)
    runner.run("instagram")
    n = len(_expected_days(world, START, END))
    assert duck(
        "select count(*), count(distinct (account_id, date, metric)) from raw_instagram.account_daily_insights"
    )[0] == (n, n)
    assert vendor("instagram").stats()["faults"] == len(faults)


def test_throttle_answer_is_a_graph_error_with_usage_headers(vendor):
    import requests

    ig = vendor("instagram")
    ig.faults(fail_next=[429])
    r = requests.get(f"{ig.url}/v25.0/17841402000000001", params={"access_token": "sandbox-instagram-key"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == 80002 and "fbtrace_id" in r.json()["error"]
    assert "estimated_time_to_regain_access" in r.headers["X-Business-Use-Case-Usage"]
    ok = requests.get(
        f"{ig.url}/v25.0/17841402000000001",
        params={"access_token": "sandbox-instagram-key", "fields": "id"},
        timeout=10,
    )
    assert ok.status_code == 200 and "call_count" in ok.headers["X-App-Usage"]
