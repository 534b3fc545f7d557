"""The recommender end to end on the demo's run (seed 11, scale 0.15): its marts against the world's
ground truth, its offline evaluation, and the Recommendation API on the bundle the demo registered
(in process, then once under a real `bentoml serve`)."""

from __future__ import annotations

import json

import pytest
import requests

from sandbox.truth import recommendation as truth
from tests.serving import bentoml_serve

MARTS = "marts_ml.mrt_ml__recommendation"


def test_interactions_match_the_world(demo):
    rows = dict(demo.query(f"select event_type, count(*) from {MARTS}_interactions group by 1"))
    assert rows == truth.interactions_by_type(demo.world)
    cancelled = demo.query(f"select count(*) from {MARTS}_interactions where is_cancelled_booking")[0][0]
    assert cancelled == truth.cancelled_bookings(demo.world)


def test_user_features_match_the_world(demo):
    rows = demo.query(f"select user_id, booking_count, click_count, favorite_count from {MARTS}_user_features")
    assert {u: (b, c, f) for u, b, c, f in rows} == truth.user_activity(demo.world)
    ages = demo.query(f"select min(age), max(age), count(*) filter (where is_underage) from {MARTS}_user_features")[0]
    assert ages[0] >= 15 and ages[1] < 40 and ages[2] > 0


def test_offer_features_cover_the_catalogue(demo):
    n, bookable, recent = demo.query(
        f"select count(*), count(*) filter (where is_bookable), sum(booking_count_last_28_days) "
        f"from {MARTS}_offer_features"
    )[0]
    assert n == truth.offers(demo.world) and 0 < bookable < n and recent > 0


@pytest.fixture(scope="module")
def metrics(demo):
    return json.loads((demo.home / "reports" / "recommendation" / "metrics.json").read_text())


def test_ranker_beats_every_popularity_baseline_at_demo_scale(metrics, demo):
    models = metrics["models"]
    ndcg = {m: models[m]["@10"]["ndcg"] for m in models}
    assert ndcg["ranker"] > ndcg["popularity"] and ndcg["ranker"] > ndcg["recent_popularity"], ndcg
    assert ndcg["ranker"] > ndcg["random"] * 2, ndcg
    for m in models:
        assert set(models[m]) == {"@10", "@50"}
        assert set(models[m]["@50"]) == {"precision", "recall", "ndcg", "map", "coverage", "novelty"}
    assert (demo.home / "reports" / "recommendation" / "index.html").exists()
    assert "recommendation model:" in demo.run.stdout and "ranker ndcg" in demo.run.stdout


# --- the service on the demo's bundle -------------------------------------------------------------
@pytest.fixture(scope="module")
def service(demo, tmp_path_factory):
    from models_ml.store import use_store

    use_store(demo.home / "bentoml")
    mp = pytest.MonkeyPatch()
    mp.setenv("RECOMMENDATION_LOG_DIR", str(tmp_path_factory.mktemp("reco-logs")))
    from starlette.testclient import TestClient

    from bentos.api_gate import ApiGate
    from bentos.recommendation.service import GATE, Recommendation, routes

    svc = Recommendation()  # the inner instance; the routes find it without a BentoML server
    # behind the gate `add_asgi_middleware` mounts, without a second BentoML ASGI app in this process
    with TestClient(ApiGate(routes, service=Recommendation, **GATE)) as client:
        yield svc, client
    mp.undo()


def _warm_user(demo) -> tuple[str, float, float]:
    """A beneficiary with credit, at least two bookings and a known location."""
    rows = demo.query(
        f"select user_id, approx_latitude, approx_longitude from {MARTS}_user_features "
        "where booking_count >= 2 and remaining_credit > 50 and approx_latitude is not null "
        "and not is_underage order by user_id limit 1"
    )
    return str(rows[0][0]), rows[0][1], rows[0][2]


def test_playlist_for_a_warm_user_follows_the_business_rules(service, demo):
    svc, client = service
    user, lat, lon = _warm_user(demo)
    r = client.post(f"/playlist_recommendation/{user}", params={"latitude": lat, "longitude": lon}, json={})
    assert r.status_code == 200, r.text
    body = r.json()
    offers = body["playlist_recommended_offers"]
    assert body["params"]["reco_origin"] == "algo" and body["params"]["model_origin"] == svc.tag
    assert 0 < len(offers) <= 60 and len(set(offers)) == len(offers)
    booked = {
        str(o)
        for (o,) in demo.query(
            f"select offer_id from {MARTS}_interactions where user_id = {user} "
            "and event_type = 'booking' and not is_cancelled_booking"
        )
    }
    assert booked and not booked & set(offers)
    facts = {
        str(o): (b, p)
        for o, b, p in demo.query(f"select offer_id, is_bookable, stock_price from {MARTS}_offer_features")
    }
    credit = demo.query(f"select remaining_credit from {MARTS}_user_features where user_id = {user}")[0][0]
    assert all(facts[o][0] and facts[o][1] <= float(credit) + 1e-6 for o in offers)
    log = next((svc.log_dir).glob("*.jsonl")).read_text().splitlines()
    line = json.loads(log[-1])
    assert line["call_id"] == body["params"]["call_id"] and [o["offer_id"] for o in line["offers"]] == offers
    assert line["offers"][0]["rank"] == 1 and {"score", "origin"} <= set(line["offers"][0])


def test_playlist_filters(service, demo):
    _, client = service
    user, _, _ = _warm_user(demo)
    paris = {"latitude": 48.85, "longitude": 2.35}
    facts = {
        str(o): (c, float(p), d)
        for o, c, p, d in demo.query(
            f"select offer_id, offer_category_id, stock_price, is_digital from {MARTS}_offer_features"
        )
    }
    unfiltered = client.post(f"/playlist_recommendation/{user}", params=paris, json={}).json()
    category, price, digital = facts[unfiltered["playlist_recommended_offers"][0]]
    r = client.post(
        f"/playlist_recommendation/{user}",
        params=paris,
        json={"categories": [category], "priceMax": price, "isDigital": digital},
    )
    assert r.status_code == 200, r.text
    offers = r.json()["playlist_recommended_offers"]
    assert offers and all(facts[o][0] == category and facts[o][1] <= price and facts[o][2] == digital for o in offers)
    cheap = client.post(f"/playlist_recommendation/{user}", params=paris, json={"priceMax": 0}).json()
    assert all(facts[o][1] == 0 for o in cheap["playlist_recommended_offers"])
    dates = {
        str(o): (e, b)
        for o, e, b in demo.query(f"select offer_id, is_event, next_beginning_at from {MARTS}_offer_features")
    }
    window = {"isEvent": True, "startDate": "2026-11-01T00:00:00Z", "endDate": "2027-03-01T00:00:00+01:00"}
    events = client.post(f"/playlist_recommendation/{user}", params=paris, json=window)
    assert events.status_code == 200, events.text
    for o in events.json()["playlist_recommended_offers"]:
        assert dates[o][0] and "2026-11-01" <= str(dates[o][1]) <= "2027-03-01"


def test_unknown_and_new_users_get_the_cold_start_list(service, demo):
    _, client = service
    unknown = client.post("/playlist_recommendation/999999999", params={"latitude": 48.85, "longitude": 2.35})
    assert unknown.status_code == 200 and unknown.json()["params"]["reco_origin"] == "unknown"
    assert unknown.json()["playlist_recommended_offers"]
    quiet = demo.query(f"select user_id from {MARTS}_user_features where booking_count = 0 and click_count < 5 limit 1")
    r = client.post(f"/playlist_recommendation/{quiet[0][0]}", params={"latitude": 48.85, "longitude": 2.35})
    assert r.status_code == 200 and r.json()["params"]["reco_origin"] == "cold_start"


def test_invalid_input_is_a_422_with_field_errors(service):
    _, client = service
    r = client.post("/playlist_recommendation/1", json={"priceMax": 500})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "priceMax"]
    assert client.post("/playlist_recommendation/1", json={"categories": ["NOPE"]}).status_code == 422
    assert client.post("/playlist_recommendation/1", params={"latitude": "north"}).status_code == 422
    assert client.get("/similar_offers/1", params={"latitude": 100, "longitude": 2}).status_code == 422


def test_similar_offers(service, demo):
    _, client = service
    offer = demo.query(f"select offer_id from {MARTS}_offer_features order by click_count desc limit 1")[0][0]
    r = client.get(f"/similar_offers/{offer}", params={"latitude": 48.85, "longitude": 2.35})
    assert r.status_code == 200, r.text
    body = r.json()
    assert str(offer) not in body["results"] and body["params"]["reco_origin"] in ("algo", "cold_start")
    assert client.get("/similar_offers/does-not-exist").json()["params"]["reco_origin"] == "unknown"


def test_api_key_when_enabled(service, monkeypatch):
    _, client = service
    monkeypatch.setenv("RECOMMENDATION_API_KEY", "s3cret")
    assert client.post("/playlist_recommendation/1").status_code == 401
    assert client.post("/playlist_recommendation/1", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.post("/playlist_recommendation/1", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.get("/similar_offers/1", params={"token": "s3cret"}).status_code == 200
    # the key alone, without the Bearer scheme, is not a credential
    assert client.post("/playlist_recommendation/1", headers={"Authorization": "s3cret"}).status_code == 401
    assert client.post("/playlist_recommendation/1", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_real_bentoml_serve_round_trip(demo, tmp_path, monkeypatch):
    key = {"X-API-Key": "s3cret"}  # with a key set, health and metrics stay open (the helper polls /readyz)
    env = {
        "BENTOML_HOME": str(demo.home / "bentoml"),
        "RECOMMENDATION_LOG_DIR": str(tmp_path / "logs"),
        "RECOMMENDATION_API_KEY": key["X-API-Key"],
    }
    with bentoml_serve("recommendation", tmp_path / "serve.log", env) as url:
        assert requests.post(f"{url}/playlist_recommendation/999999999", json={}, timeout=10).status_code == 401
        r = requests.post(f"{url}/playlist_recommendation/999999999", json={}, headers=key, timeout=10)
        assert r.status_code == 200 and r.json()["params"]["reco_origin"] == "unknown"
        similar = requests.get(f"{url}/similar_offers/1", params={"token": key["X-API-Key"]}, timeout=10)
        assert similar.status_code == 200
        invalid = requests.post(f"{url}/playlist_recommendation/1", json={"priceMax": 301}, headers=key, timeout=10)
        assert invalid.status_code == 422
        assert requests.post(f"{url}/playlist_recommendation/1", data="{}", headers=key, timeout=10).status_code == 415
        assert requests.get(f"{url}/livez", timeout=10).status_code == 200
        assert "bentoml_service_request_total" in requests.get(f"{url}/metrics", timeout=10).text
    assert list((tmp_path / "logs" / "past_offer_context").glob("*.jsonl"))
    # the served lists back in the warehouse: the monitoring mart counts exactly what was asked and answered
    served = {
        "playlist_recommendation": (1, len(r.json()["playlist_recommended_offers"])),
        "similar_offers": (1, len(similar.json()["results"])),  # the 401, 415 and 422 never reached the service
    }
    assert _served_daily(demo, tmp_path, monkeypatch) == served


def _served_daily(demo, tmp_path, monkeypatch) -> dict[str, tuple[int, int]]:
    """Loads the logs under `tmp_path/logs` into a copy of the demo's warehouse, builds the monitoring mart,
    and returns its calls and offers shown per endpoint."""
    from ingestion.pipeline import Runner
    from warehouse import Settings, query
    from warehouse.dbt import dbt

    home = tmp_path / "home"
    home.mkdir()
    demo.copy_warehouse(home / "warehouse.duckdb")  # the shared demo's warehouse stays as it was
    monkeypatch.setenv("PCDATA__HOME", str(home))
    monkeypatch.setenv("SOURCES__RECOMMENDATION_LOGS__LOG_DIR", str(tmp_path / "logs"))
    settings = Settings.load()
    assert settings.recommendation_log_dir == tmp_path / "logs"
    loaded = Runner(settings).run("recommendation_logs")
    assert loaded.rows_loaded["past_offer_context"] >= 2
    summary = dbt(settings, "build", "--select", "stg_recommendation__past_offer_context+")
    assert summary.success, summary.failures
    rows = query(settings, f"select endpoint, sum(call_count), sum(offers_shown) from {MARTS}_served_daily group by 1")
    return {endpoint: (int(calls), int(offers)) for endpoint, calls, offers in rows}
