"""AppsFlyer source against its sandbox: CSV reports, 14-day re-pull, quotas."""

import logging
from datetime import date

import pytest
import requests

from ingestion.pipeline import IngestionFailed, Runner
from sandbox.vendors.appsflyer.server import world_counts
from sandbox.world.campaigns import APPS, build

TABLES = ("installs", "in_app_events", "daily_report", "partners_report")


def _counts(duck) -> dict:
    return {t: duck(f"select count(*) from raw_appsflyer.{t}")[0][0] for t in TABLES}


def test_full_load_equals_the_world_and_joins_users_and_campaigns(world, settings, duck, vendor):
    result = Runner(settings).run("appsflyer")
    expected = world_counts(world)
    assert result.rows_loaded == expected
    assert _counts(duck) == expected
    mkt = world.slice("marketing", build)
    users = {u.id for u in world.users}
    loaded = duck("select customer_user_id, campaign, media_source, app_id, install_time from raw_appsflyer.installs")
    assert {int(u) for u, *_ in loaded} <= users
    assert {c for _, c, *_ in loaded} <= set(mkt.campaign_by_utm())  # campaign name = the shared UTM tag
    assert {a for *_, a, _ in loaded} == set(APPS.values())
    # human headers became snake_case, typed columns; the partner report has its own af_* columns
    cols = {
        c
        for (c,) in duck(
            "select column_name from information_schema.columns where table_schema = 'raw_appsflyer' "
            "and table_name = 'partners_report'"
        )
    }
    assert {
        "media_source",
        "agency",
        "total_cost",
        "af_complete_beneficiary_unique_users",
    } <= cols and "campaign" not in cols
    assert (
        duck(
            "select count(*) from information_schema.columns where table_schema = 'raw_appsflyer' "
            "and column_name in ('ip', 'idfa', 'idfv', 'advertising_id')"
        )[0][0]
        == 0
    )
    cost = duck("select round(sum(total_cost), 2) from raw_appsflyer.daily_report")[0][0]
    assert cost == round(sum(s["cost"] for s in mkt.ad_spend), 2)


def test_rerun_repulls_fourteen_days_without_duplicates(world, settings, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__APPSFLYER__END_DATE", "2026-06-30")
    monkeypatch.setenv("SOURCES__APPSFLYER__INSTALLS_WINDOW_DAYS", "200")  # several windows per app
    runner = Runner(settings)
    runner.run("appsflyer")
    mkt = world.slice("marketing", build)
    assert _counts(duck)["installs"] == sum(i["install_time"].date() <= date(2026, 6, 30) for i in mkt.installs)
    monkeypatch.delenv("SOURCES__APPSFLYER__END_DATE")
    second = runner.run("appsflyer")
    # the second run starts 14 days before the last day pulled (late attribution), then merges
    assert second.rows_loaded["installs"] == sum(i["install_time"].date() >= date(2026, 6, 17) for i in mkt.installs)
    assert _counts(duck) == world_counts(world)
    key = "app_id, appsflyer_id, event_time, event_name"
    assert duck(f"select count(*) from (select distinct {key} from raw_appsflyer.in_app_events)")[0][0] == len(
        mkt.in_app_events
    )


def test_wrong_token_fails_with_a_clear_message_that_hides_it(settings, monkeypatch):
    monkeypatch.setenv("SOURCES__APPSFLYER__API_TOKEN", "not-the-token-s3cret")
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("appsflyer")
    assert "HTTP 401" in str(err.value) and "credentials" in str(err.value)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("faults", [[429, 503], ["drop", "malformed"]])
def test_quota_and_server_errors_are_recovered_without_loss(world, settings, duck, vendor, faults):
    vendor("appsflyer").faults(fail_next=faults)
    Runner(settings).run("appsflyer")
    assert _counts(duck) == world_counts(world)
    assert vendor("appsflyer").stats()["faults"] == len(faults)


def test_daily_quota_is_reported_not_hammered_and_resumes(world, settings, duck, vendor, sandbox, caplog):
    ios = APPS["ios"]
    path = f"/api/raw-data/export/app/{ios}/in_app_events_report/v5"
    for _ in range(12):  # someone else used today's in-app events quota of the iOS app
        r = requests.get(
            f"{sandbox.vendor_url('appsflyer')}{path}",
            params={"from": "2026-01-01", "to": "2026-01-02"},
            headers={"Authorization": "Bearer sandbox-appsflyer-key"},
            timeout=10,
        )
        assert r.status_code == 200
    with caplog.at_level(logging.WARNING, logger="pcdata.ingestion"):
        runner = Runner(settings)
        first = runner.run("appsflyer")
    mkt = world.slice("marketing", build)
    assert first.rows_loaded["in_app_events"] == sum(e["app_id"] == APPS["android"] for e in mkt.in_app_events)
    assert first.rows_loaded["installs"] == len(mkt.installs)  # other reports have their own quota
    assert "daily quota reached for in_app_events_report of app " + ios in caplog.text
    assert "Limit reached" in caplog.text
    assert [p for _, p in vendor("appsflyer").stats()["calls"]].count(path) == 13  # one refusal, no retry
    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=10).raise_for_status()  # 00:00 UTC
    runner.run("appsflyer")
    assert _counts(duck) == world_counts(world)
