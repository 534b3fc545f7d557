"""The Recommendation API's HTTP front in process: the same `ApiGate` as the Compliance API (auth on and
off, 415, 413, one-line 422), on a bundle trained from a small generated interaction log."""

from __future__ import annotations

import json
import logging

import bentoml
import numpy as np
import pandas as pd
import pytest

from models_ml.recommendation import data, pipeline
from models_ml.recommendation.pipeline import Params
from tests.ml.test_recommendation_model import generated_log

PLAYLIST = "/playlist_recommendation/u1"


def _marts(log: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The three ml marts, as the bundle writer reads them, for a generated log: digital, bookable offers."""
    items = sorted(log["item_id"].unique())
    offers = pd.DataFrame(
        {
            "offer_id": items,
            "offer_category_id": ["LIVRE" if i.endswith(("0", "2", "4")) else "MUSIQUE_ENREGISTREE" for i in items],
            "offer_subcategory_id": "LIVRE_NUMERIQUE",
            "is_event": False,
            "is_digital": True,
            "is_duo": False,
            "stock_price": 5.0,
            "is_bookable": True,
            "venue_latitude": np.nan,
            "venue_longitude": np.nan,
            "next_beginning_at": pd.NaT,
            "offer_created_at": pd.Timestamp("2025-01-01"),
            "features_as_of": pd.Timestamp("2026-01-01"),
        }
    )
    users = pd.DataFrame({"user_id": sorted(log["user_id"].unique())}).assign(
        age=19, is_underage=False, remaining_credit=150.0, booking_count=3, click_count=30
    )
    users[["approx_latitude", "approx_longitude"]] = np.nan
    interactions = log.rename(columns={"item_id": "offer_id"}).assign(is_cancelled_booking=False)
    return {"interactions": interactions, "offers": offers, "users": users}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from models_ml.recommendation.train import register
    from models_ml.store import use_store

    use_store(tmp_path_factory.mktemp("reco-store"))
    raw = generated_log(users=50, items=40)
    tag = register(pipeline.evaluate(data.normalise(raw), None, Params(iterations=20)), _marts(raw))
    mp = pytest.MonkeyPatch()
    mp.setenv("RECOMMENDATION_LOG_DIR", str(tmp_path_factory.mktemp("reco-logs")))
    mp.delenv("RECOMMENDATION_API_KEY", raising=False)
    from starlette.testclient import TestClient

    from bentos.api_gate import ApiGate
    from bentos.recommendation.service import GATE, Recommendation, routes

    # a fresh model reference: the class's own keeps the model it first resolved in this process (the
    # end-to-end tests' demo bundle when they ran first)
    mp.setattr(Recommendation.inner, "bundle_ref", bentoml.models.BentoModel(tag))
    Recommendation()  # the inner instance; the routes find it without a BentoML server
    # the gate as `add_asgi_middleware` mounts it, without a second BentoML ASGI app in this process
    with TestClient(ApiGate(routes, service=Recommendation, **GATE)) as c:
        yield c
    mp.undo()


def test_answers_without_a_key_when_none_is_set(client):
    r = client.post(PLAYLIST, json={})
    assert r.status_code == 200, r.text
    assert r.json()["playlist_recommended_offers"] and r.json()["params"]["reco_origin"] == "algo"
    assert client.post(PLAYLIST).status_code == 200  # the body may be left out, as the app backend does
    assert client.get("/similar_offers/i3").status_code == 200


def test_api_key_when_set(client, monkeypatch):
    key = "s3cret-Key"
    monkeypatch.setenv("RECOMMENDATION_API_KEY", key)
    for headers in ({}, {"Authorization": key}, {"Authorization": f"Bearer {key}x"}, {"X-API-Key": "wrong"}):
        r = client.post(PLAYLIST, json={}, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), headers
        assert client.get("/similar_offers/i3", headers=headers).status_code == 401, headers
    assert client.post(PLAYLIST, params={"token": "wrong"}, json={}).status_code == 401
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        assert client.post(PLAYLIST, json={}, headers=headers).status_code == 200, headers
        assert client.get("/similar_offers/i3", headers=headers).status_code == 200, headers
    # the reference's `token` query parameter, which the app backend sends
    assert client.post(PLAYLIST, params={"token": key}, json={}).status_code == 200
    assert client.get("/similar_offers/i3", params={"token": key}).status_code == 200
    doc = client.get("/docs.json").json()
    assert "401" in doc["paths"]["/similar_offers/{offer_id}"]["get"]["responses"]
    assert doc["components"]["securitySchemes"]["queryKey"] == {"type": "apiKey", "in": "query", "name": "token"}


def test_key_check_is_constant_time_on_the_query_token(monkeypatch):
    from bentos import api_gate

    compared = []

    def spy(a, b):
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(api_gate.hmac, "compare_digest", spy)
    assert api_gate.api_key_ok({b"x-api-key": b"j"}, "k", b"k")
    assert compared == [(b"k", b"k"), (b"j", b"k")]  # every candidate compared, no early exit


def test_a_body_that_is_not_json_is_415(client):
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": content_type} if content_type else {}
        r = client.post(PLAYLIST, content=b'{"priceMax": 10}', headers=headers)
        assert r.status_code == 415 and "error" in r.json(), (content_type, r.text)


def test_a_body_over_the_cap_is_413(client):
    from bentos.api_gate import MAX_BODY_BYTES

    big = b'{"categories": ["' + b"x" * MAX_BODY_BYTES + b'"]}'
    r = client.post(PLAYLIST, content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "error" in r.json()


def test_invalid_input_is_a_422_naming_query_or_body_fields(client):
    r = client.post(PLAYLIST, json={"priceMax": 301, "isEvent": "maybe"})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "2 invalid field(s)"
    assert sorted(d["loc"] for d in body["detail"]) == [["body", "isEvent"], ["body", "priceMax"]]
    assert all("input" not in d for d in body["detail"])
    r = client.post(PLAYLIST, params={"latitude": "north", "longitude": 2}, json={})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "latitude"]
    r = client.get("/similar_offers/i3", params={"latitude": 100, "longitude": 2})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "latitude"]
    r = client.get("/similar_offers/i3", params={"categories[]": ["LIVRE", "NOPE"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "categories", 1]
    for broken in (b"{", b"null", b"[]"):
        r = client.post(PLAYLIST, content=broken, headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["detail"], broken


def test_a_422_logs_one_line_without_traceback(client, caplog):
    caplog.set_level(logging.INFO)
    service_log = logging.getLogger("pcdata.recommendation")
    service_log.addHandler(caplog.handler)  # the service's request logger does not propagate
    try:
        caplog.clear()
        assert client.post(PLAYLIST, json={"priceMax": 500}).status_code == 422  # the gate's check
        assert client.post(PLAYLIST, json={"categories": ["NOPE"]}).status_code == 422  # the service's own
    finally:
        service_log.removeHandler(caplog.handler)
    requests_logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "pcdata.recommendation"]
    assert [line["status"] for line in requests_logged] == [422, 422]
    assert requests_logged[0]["errors"] == ["body.priceMax: less_than_equal"]
    assert requests_logged[1]["errors"] == ["body.categories.0: enum"]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_health_and_docs_stay_open(client, monkeypatch):
    monkeypatch.setenv("RECOMMENDATION_API_KEY", "k")
    doc = client.get("/docs.json")
    assert doc.status_code == 200
    paths = doc.json()["paths"]
    playlist = paths["/playlist_recommendation/{user_id}"]["post"]
    assert {"200", "401", "413", "415", "422"} <= set(playlist["responses"])
    assert playlist["requestBody"]["required"] is False
    schema = playlist["requestBody"]["content"]["application/json"]["schema"]
    assert "priceMax" in schema["properties"]
    names = {p["name"] for p in paths["/similar_offers/{offer_id}"]["get"]["parameters"]}
    assert {"offer_id", "latitude", "longitude", "user_id", "categories"} <= names


def test_filters_the_catalogue_cannot_apply_are_422_and_the_rest_accepted(client):
    for field, value in (("searchGroupNames", ["LIVRES"]), ("gtlIds", ["01000000"]), ("offerTypeList", [{"k": 1}])):
        r = client.post(PLAYLIST, json={field: value})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], r.text
        assert "filter with categories" in r.json()["detail"][0]["msg"]
    accepted = {"searchGroupNames": [], "gtlL1": None, "isRestrained": False, "submixingFeatureDict": {"LIVRES": 1}}
    assert client.post(PLAYLIST, json=accepted).status_code == 200
    r = client.get("/similar_offers/i3", params={"search_group_names[]": "CINEMA"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "search_group_names"]
    assert client.get("/similar_offers/i3", params={"retrieval_model": "graph"}).status_code == 200
    assert client.get("/similar_offers/i3", params={"retrieval_model": "vector"}).status_code == 422
