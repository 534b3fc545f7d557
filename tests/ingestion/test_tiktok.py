"""TikTok source against its sandbox: refresh-token rotation kept across runs, HTTP-200 errors, cursor paging."""

import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

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
    assert "refused" in str(err.value) and "re-authorise" in str(err.value)
    assert "rft." not in str(err.value)


def test_wrong_client_secret_fails_clearly_without_showing_it(runner, monkeypatch, vendor):
    monkeypatch.setenv("SOURCES__TIKTOK__CLIENT_SECRET", "not-the-secret-s3cret")
    with pytest.raises(IngestionFailed) as err:
        runner.run("tiktok")
    assert "client_secret is invalid" in str(err.value) and "s3cret" not in str(err.value)


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


def test_a_run_that_fails_right_after_the_refresh_leaves_the_next_run_a_working_token(
    world, runner, settings, duck, vendor, monkeypatch
):
    """The refresh rotates the token, then the Business API fails for good: dlt drops the run's state,
    but the rotated token was written to the token file the moment it was issued."""
    monkeypatch.setenv("SOURCES__TIKTOK__MAX_ATTEMPTS", "2")
    tk = vendor("tiktok")
    tk.faults(fail_next=[None, 503, 503])  # the refresh goes through, then business/get fails twice
    with pytest.raises(IngestionFailed, match=r"tiktok: GET \S*/open_api/v1.3/business/get/"):
        runner.run("tiktok")
    assert tk.stats()["calls"][0] == ["POST", "/open_api/v1.3/tt_user/oauth2/refresh_token/"]
    token_file = settings.home / "credentials" / "tiktok.json"
    assert token_file.exists() and "rft." not in token_file.read_text()  # encrypted
    assert token_file.stat().st_mode & 0o077 == 0  # its owner's only
    # no person: the next run authenticates with the token file's token (the configured one is dead)
    result = runner.run("tiktok")
    assert result.rows_loaded["account_daily_activity"] == len(_days(world))
    assert tk.stats()["calls"].count(["POST", "/open_api/v1.3/tt_user/oauth2/refresh_token/"]) == 2


def test_a_run_killed_right_after_the_refresh_leaves_the_next_run_a_working_token(world, runner, settings, vendor):
    tk = vendor("tiktok")
    tk.faults(fail_next=[None, "slow"])  # the refresh, then a 3 s answer: time to kill -9 the run
    script = (
        "from ingestion.pipeline import Runner; from warehouse import Settings; Runner(Settings.load()).run('tiktok')"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    token_file = settings.home / "credentials" / "tiktok.json"
    try:
        deadline = time.monotonic() + 60
        # the token is rotated and written; the run now waits for business/get: kill it there
        while not token_file.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the run never wrote its token"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert runner.run("tiktok").rows_loaded["account_daily_activity"] == len(_days(world))


def test_the_login_kit_flow_is_a_setting(world, runner, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__TIKTOK__AUTH_FLOW", "login_kit")
    runner.run("tiktok")
    runner.run("tiktok")  # the rotated token again, through the other endpoint
    calls = vendor("tiktok").stats()["calls"]
    assert calls.count(["POST", "/v2/oauth/token/"]) == 2 and not [c for c in calls if "tt_user" in c[1]]
    assert duck("select count(*) from raw_tiktok.account_daily_activity")[0][0] == len(_days(world))


def test_the_business_refresh_endpoint_answers_in_its_envelope(vendor, sandbox):
    url = f"{sandbox.vendor_url('tiktok')}/open_api/v1.3/tt_user/oauth2/refresh_token/"
    body = {
        "client_id": "sandbox-tiktok-client",
        "client_secret": "sandbox-tiktok-key",
        "grant_type": "refresh_token",
        "refresh_token": initial_refresh_token("sandbox-tiktok-key"),
    }
    first = requests.post(url, json=body, timeout=10).json()
    assert first["code"] == 0 and first["request_id"] and first["data"]["refresh_token"] != body["refresh_token"]
    again = requests.post(url, json=body, timeout=10)  # the token sent is dead now
    assert again.status_code == 200 and again.json()["code"] != 0 and again.json()["data"] == {}
