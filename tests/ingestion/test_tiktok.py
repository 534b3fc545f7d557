"""TikTok source against its sandbox: refresh-token rotation kept across runs, HTTP-200 errors, cursor paging."""

from datetime import date

import pytest
import requests

from ingestion.pipeline import IngestionFailed, Runner
from sandbox.vendors.tiktok.server import initial_refresh_token
from sandbox.vendors.tiktok.world import tiktok as tk_slice

START, END = date(2026, 10, 1), date(2026, 10, 31)


@pytest.fixture
def runner(settings, monkeypatch):
    monkeypatch.setenv("SOURCES__TIKTOK__START_DATE", START.isoformat())
    monkeypatch.setenv("SOURCES__TIKTOK__END_DATE", END.isoformat())
    monkeypatch.setenv("SOURCES__TIKTOK__PAGE_SIZE", "5")
    return Runner(settings)


def _days(world, start=START, end=END):
    return {d: m for d, m in tk_slice(world).days.items() if start <= d <= end}


def test_full_load_equals_the_world(world, runner, duck, vendor):
    result = runner.run("tiktok")
    days, data = _days(world), tk_slice(world)
    assert result.rows_loaded["account_daily_activity"] == len(days)
    got = {
        d: (views, followers)
        for d, views, followers in duck(
            "select date, video_views, followers_count from raw_tiktok.account_daily_activity"
        )
    }
    assert got == {d: (m["video_views"], m["followers_count"]) for d, m in days.items()}
    hourly = duck("select date, hour, audience from raw_tiktok.account_hourly_audience")
    assert len(hourly) == 24 * len(days)
    assert {(d, h): a for d, h, a in hourly} == {
        (d, int(a["hour"])): a["count"] for d, m in days.items() for a in m["audience_activity"]
    }
    assert {i for (i,) in duck("select item_id from raw_tiktok.videos")} == {v["item_id"] for v in data.videos}
    assert duck("select count(*) from raw_tiktok.videos__audience_countries")[0][0] == sum(
        len(v["audience_countries"]) for v in data.videos
    )
    pages = [p for _, p in vendor("tiktok").stats()["calls"] if "video/list" in p]
    assert len(pages) == -(-len(data.videos) // 5)  # cursor + has_more followed to the end


def test_two_consecutive_runs_both_succeed_with_the_rotated_refresh_token(
    world, runner, duck, vendor, sandbox, monkeypatch
):
    monkeypatch.setenv("SOURCES__TIKTOK__END_DATE", "2026-10-20")
    runner.run("tiktok")
    # the configured refresh token is dead now: only the rotated one, kept in the source state, works
    dead = requests.post(
        f"{sandbox.vendor_url('tiktok')}/v2/oauth/token/",
        timeout=10,
        data={
            "client_key": "sandbox-tiktok-client",
            "client_secret": "sandbox-tiktok-key",
            "grant_type": "refresh_token",
            "refresh_token": initial_refresh_token("sandbox-tiktok-key"),
        },
    )
    assert dead.json()["error"] == "invalid_grant"
    monkeypatch.setenv("SOURCES__TIKTOK__END_DATE", END.isoformat())
    second = runner.run("tiktok")
    assert (
        second.rows_loaded["account_daily_activity"] == (END - date(2026, 10, 13)).days + 1
    )  # ds-7 of the last end .. new end
    assert (
        duck("select count(*), count(distinct date) from raw_tiktok.account_daily_activity")[0]
        == (len(_days(world)),) * 2
    )
    assert (
        duck("select count(*), count(distinct (date, hour)) from raw_tiktok.account_hourly_audience")[0]
        == (24 * len(_days(world)),) * 2
    )
    assert (
        duck("select count(*), count(distinct item_id) from raw_tiktok.videos")[0] == (len(tk_slice(world).videos),) * 2
    )
    state = runner.pipeline("tiktok").state["sources"]["tiktok"]
    assert "rft." not in state["refresh_token"]  # stored encrypted, not in clear


def test_a_client_that_forgets_the_rotated_token_fails_on_its_second_run(
    runner, settings, vendor, tmp_path, monkeypatch
):
    runner.run("tiktok")
    monkeypatch.setenv("PCDATA__HOME", str(tmp_path / "amnesic"))  # a fresh pipeline state: the rotated token is lost
    from warehouse import Settings

    with pytest.raises(IngestionFailed) as err:
        Runner(Settings.load()).run("tiktok")
    assert "invalid_grant" in str(err.value) and "re-authorise" in str(err.value)


def test_wrong_client_secret_fails_clearly_without_showing_it(runner, monkeypatch, vendor):
    monkeypatch.setenv("SOURCES__TIKTOK__CLIENT_SECRET", "not-the-secret-s3cret")
    with pytest.raises(IngestionFailed) as err:
        runner.run("tiktok")
    assert "invalid_client" in str(err.value) and "s3cret" not in str(err.value)


def test_http_200_errors_are_errors_not_empty_data(runner, monkeypatch, vendor):
    monkeypatch.setenv("SOURCES__TIKTOK__PAGE_SIZE", "50")  # above max_count 20: code 40002 with HTTP 200
    with pytest.raises(IngestionFailed) as err:
        runner.run("tiktok")
    assert "code 40002" in str(err.value) and "request_id" in str(err.value)


@pytest.mark.parametrize("faults", [[None, 429, 429], [None, 503, "drop"], [None, "malformed"]])
def test_rate_limits_and_server_errors_are_recovered_without_loss(world, runner, duck, vendor, faults):
    vendor("tiktok").faults(fail_next=faults)  # None: the token call goes through, the next calls fail
    runner.run("tiktok")
    n = len(_days(world))
    assert duck("select count(*), count(distinct date) from raw_tiktok.account_daily_activity")[0] == (n, n)
    assert duck("select count(*) from raw_tiktok.videos")[0][0] == len(tk_slice(world).videos)
    assert vendor("tiktok").stats()["faults"] == len(faults) - 1


def test_rate_limit_is_http_200_with_a_code(vendor, sandbox):
    tk = vendor("tiktok")
    tk.faults(fail_next=[429])
    r = requests.get(f"{tk.url}/open_api/v1.3/business/video/list/", headers={"Access-Token": "x"}, timeout=10)
    assert r.status_code == 200 and r.json()["code"] == 40100 and r.json()["request_id"]
