"""The sandbox framework over real HTTP: auth, rate limits, faults, vendor error shapes."""

import inspect
from pathlib import Path

import requests

from ingestion.sources.zendesk import zendesk as zendesk_source
from sandbox.framework import Request
from sandbox.vendors import client_config, vendors
from sandbox.world import build_world


def test_health_lists_every_vendor(sandbox):
    assert {"api_adresse", "sirene"} <= set(
        requests.get(f"{sandbox.base_url}/_sandbox/health", timeout=10).json()["vendors"]
    )


def test_wrong_key_gets_the_vendor_rejection(vendor):
    sirene = vendor("sirene")
    r = requests.get(f"{sirene.url}/siren/123456789", headers={"X-INSEE-Api-Key-Integration": "nope"}, timeout=10)
    assert r.status_code == 401 and r.json()["fault"]["message"] == "Invalid Credentials"
    assert sirene.stats()["rejected_auth"] == 1


def test_rate_limit_answers_429_with_retry_after(vendor):
    sirene = vendor("sirene")
    sirene.rate_limit(2, 60)
    headers = {"X-INSEE-Api-Key-Integration": "sandbox-sirene-key"}
    codes = [requests.get(f"{sirene.url}/informations", headers=headers, timeout=10) for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert int(codes[2].headers["Retry-After"]) >= 1 and codes[2].json()["fault"]["code"] == 900802


def test_scheduled_faults_then_normal_service(vendor):
    adresse = vendor("api_adresse")
    adresse.faults(fail_next=[503, "drop", "malformed"])
    url = f"{adresse.url}/search/"
    assert requests.get(url, params={"q": "1 Rue Pasteur 69001 Lyon"}, timeout=10).status_code == 503
    try:
        requests.get(url, params={"q": "1 Rue Pasteur 69001 Lyon"}, timeout=10)
        raise AssertionError("the connection should have been dropped")
    except requests.ConnectionError:
        pass
    cut = requests.get(url, params={"q": "1 Rue Pasteur 69001 Lyon"}, timeout=10)
    assert cut.status_code == 200
    try:
        cut.json()
        raise AssertionError("the page should be cut")
    except ValueError:
        pass
    assert requests.get(url, params={"q": "1 Rue Pasteur 69001 Lyon"}, timeout=10).json()["type"] == "FeatureCollection"


def test_sirene_unknown_unit_is_404_in_the_vendor_shape(vendor):
    r = requests.get(
        f"{vendor('sirene').url}/siren/000000000",
        headers={"X-INSEE-Api-Key-Integration": "sandbox-sirene-key"},
        timeout=10,
    )
    assert r.status_code == 404 and r.json()["header"]["statut"] == 404


def test_adresse_csv_without_data_is_a_400(vendor):
    r = requests.post(f"{vendor('api_adresse').url}/search/csv/", data={"columns": "x"}, timeout=10)
    assert r.status_code == 400 and "CSV" in r.json()["message"]


def _exports_before_429(zendesk) -> int:
    """Incremental ticket export calls answered before the first 429, at most 40."""
    headers = {"authorization": zendesk.expected_auth}
    for n in range(40):
        req = Request("GET", "/api/v2/incremental/tickets/cursor.json", {"start_time": ["0"]}, headers, b"")
        if zendesk.handle(req).status == 429:
            return n
    return 40


def test_the_high_volume_tier_lifts_the_vendors_limits_and_paces_the_client_under_them():
    world = build_world(3, 0.01)
    standard, high = vendors()["zendesk"](world, "k"), vendors()["zendesk"](world, "k")
    high.use_high_volume_tier()
    high.reset()  # a test's reset keeps the account's plan
    assert (_exports_before_429(standard), _exports_before_429(high)) == (10, 30)
    brevo = vendors()["brevo"](world, "k")
    brevo.use_high_volume_tier()
    assert brevo.limiter is not None and (brevo.limiter.requests, brevo.limiter.per_seconds) == (6000, 3600.0)

    # the source paces itself at the plan's limits: its own defaults on the standard plan (10 export calls a minute)
    config, lifted = client_config("http://x", Path("/files")), client_config("http://x", Path("/files"), "high-volume")
    assert "SOURCES__ZENDESK__INCREMENTAL_CALLS_PER_MINUTE" not in config
    assert inspect.signature(zendesk_source).parameters["incremental_calls_per_minute"].default == 10
    assert lifted["SOURCES__ZENDESK__INCREMENTAL_CALLS_PER_MINUTE"] == "30"
    assert lifted["SOURCES__INSTAGRAM__CALLS_PER_HOUR"] == "200000"
    changed = {key for key in lifted if config.get(key) != lifted[key]}
    assert {key.split("__")[1] for key in changed} == {"ZENDESK", "INSTAGRAM"}
