"""The sandbox framework over real HTTP: auth, rate limits, faults, vendor error shapes."""

import requests


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
