"""The compliance classifier: from the dbt mart to a trained model and the BentoML service.

The training data is the real mart: a world written into PostgreSQL, loaded by
dlt, built by dbt. The service runs in process (one ASGI app per process) and
once for real under `bentoml serve`.
"""

import numpy as np
import pytest
import requests

from ingestion.pipeline import Runner
from models_ml.compliance.train import PRECISION_FLOOR, choose_threshold, time_split, train
from sandbox.app_database import write_snapshot
from sandbox.world import build_world
from tests.api_contract import (
    assert_api_key_checks,
    assert_client_errors_log_one_line,
    assert_field_errors,
    assert_non_finite_numbers_rejected,
    assert_rejects_bad_bodies,
    fuzz_against_openapi,
    schemathesis_cli,
)
from tests.serving import bentoml_serve
from warehouse.dbt import dbt

MART = "mrt_ml__compliance_training_offers"


@pytest.fixture(scope="module")
def mart(tmp_path_factory, pg_url):
    """The training mart of a world big enough to learn from (about 700 reviewed offers)."""
    import sqlalchemy as sa

    from warehouse import Settings

    home = tmp_path_factory.mktemp("compliance")
    mp = pytest.MonkeyPatch()
    mp.setenv("PCDATA__HOME", str(home))
    mp.setenv("PII_SALT", "test-salt")
    settings = Settings.load()
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("drop database if exists compliance_app"))
        conn.execute(sa.text("create database compliance_app"))
    engine = sa.create_engine(pg_url.replace("/postgres?", "/compliance_app?"))
    write_snapshot(engine, build_world(21, 0.7).snapshot())
    Runner(settings, engine).run("app")
    summary = dbt(settings, "build", "--select", f"+{MART}", "--indirect-selection", "cautious")
    assert summary.success, summary.failures
    from warehouse import read_table

    data = read_table(settings, "marts_ml", MART)
    engine.dispose()
    yield settings, data
    mp.undo()


@pytest.fixture(scope="module")
def trained(mart):
    return train(mart[1], seed=3, iterations=300)


def test_mart_holds_one_row_per_reviewed_offer_without_post_review_fields(mart):
    _, data = mart
    assert data["offer_id"].is_unique and len(data) > 500
    assert set(data["review_outcome"]) == {"validated", "rejected"}
    assert not {"is_active", "updated_at", "validation_status", "booked_quantity"} & set(data.columns)


def test_split_is_by_review_date(mart):
    train_df, valid_df, test_df = time_split(mart[1])
    assert (
        train_df["reviewed_at"].max()
        <= valid_df["reviewed_at"].min()
        <= valid_df["reviewed_at"].max()
        <= test_df["reviewed_at"].min()
    )


def test_model_beats_the_majority_baseline_by_a_clear_margin(trained):
    test = trained.metrics["test"]
    assert test["baseline_majority"]["balanced_accuracy"] == 0.5
    assert test["balanced_accuracy"] >= 0.65, test
    assert test["roc_auc"] >= 0.75, test
    assert set(trained.metadata) >= {
        "threshold",
        "training_window",
        "data_fingerprint",
        "metrics",
        "cat_features",
        "text_features",
    }


def test_threshold_reaches_the_precision_floor_when_it_can():
    y = np.array([0, 0, 0, 0, 1, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9])
    t = choose_threshold(y, p, floor=0.75)
    predicted = p >= t
    assert (y[predicted] == 1).mean() >= 0.75 and t == 0.5  # the lowest threshold keeping precision 3/4
    assert PRECISION_FLOOR == 0.5


def test_training_is_reproducible(mart, trained):
    again = train(mart[1], seed=3, iterations=300)
    assert np.allclose(again.test["p_rejected"], trained.test["p_rejected"])
    assert again.metadata["data_fingerprint"] == trained.metadata["data_fingerprint"]


def test_report_has_metrics_and_plots(trained, tmp_path):
    import json

    from models_ml.compliance.report import write_report

    write_report(trained, tmp_path, "compliance_catboost:test")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert {
        "accuracy",
        "balanced_accuracy",
        "precision_rejected",
        "recall_rejected",
        "roc_auc",
        "pr_auc",
        "confusion_matrix",
    } <= set(metrics["test"])
    for plot in ("confusion_matrix", "pr_curve", "probability_density", "shap_importance"):
        assert (tmp_path / f"{plot}.png").stat().st_size > 5_000
    assert "shap_importance.png" in (tmp_path / "report.html").read_text()


# --- the service --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_store(trained, tmp_path_factory):
    """A BentoML store holding the trained model (chosen before bentoml is first used)."""
    from models_ml.compliance.train import register
    from models_ml.store import use_store

    home = tmp_path_factory.mktemp("bentoml")
    use_store(home)

    tag = register(trained)
    return home, tag


@pytest.fixture(scope="module")
def client(model_store):
    from starlette.testclient import TestClient

    from bentos.compliance.service import Compliance

    with TestClient(app=Compliance.to_asgi()) as c:  # one ASGI app per process (Prometheus registry)
        yield c


SCORING, BATCH = "/model/compliance/scoring", "/model/compliance/scoring_batch"
SUSPICIOUS = {
    "offer_id": "420",
    "offer_name": "ALBUM COLLECTOR !!!",
    "offer_description": "Contactez-moi sur whatsapp. Revente possible.",
    "offer_subcategoryid": "SUPPORT_PHYSIQUE_MUSIQUE_CD",
    "stock_price": 95,
    "stock": 3000,
    "image_url": "https://x/y.jpg",
}
PLAIN = {
    "offer_id": 421,
    "offer_name": "Lumière et nuit",
    "offer_description": "Édition de poche, disponible en magasin.",
    "offer_subcategory_id": "LIVRE_PAPIER",
    "rayon": "Romans et récits",
    "macro_rayon": "Littérature",
    "stock_price": 12.5,
    "stock_quantity": 20,
}


def test_scoring_answers_the_backend_contract(client, model_store):
    r = client.post("/model/compliance/scoring", json=SUSPICIOUS)
    assert r.status_code == 200
    body = r.json()
    assert body["offer_id"] == "420" and body["probability_validated"] + body["probability_rejected"] == 100
    assert 0 < len(body["rejection_main_features"]) <= 3
    assert r.headers["x-model-tag"] == model_store[1] == body["model_tag"]
    plain = client.post("/model/compliance/scoring", json=PLAIN).json()
    assert plain["probability_rejected"] < body["probability_rejected"]


def test_missing_optional_fields_are_accepted(client):
    r = client.post("/model/compliance/scoring", json={})
    assert r.status_code == 200 and r.json()["offer_id"] is None


def test_invalid_input_is_a_422_with_the_field_errors(client):
    r = client.post("/model/compliance/scoring", json={"offer_id": "1", "stock_price": "cheap"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["stock_price"]
    assert client.post("/model/compliance/scoring", json={"stock_price": -3}).status_code == 422


def test_batch_keeps_the_order(client):
    offers = [dict(PLAIN, offer_id=i, explain=(i % 2 == 0)) for i in range(7)] + [SUSPICIOUS]
    r = client.post("/model/compliance/scoring_batch", json={"offers": offers})
    assert r.status_code == 200
    assert [o["offer_id"] for o in r.json()] == [str(i) for i in range(7)] + ["420"]
    assert (
        r.json()[1]["rejection_main_features"] == [] and r.json()[1]["validation_main_features"] == []
    )  # explain=False


def test_api_key_is_scheme_exact_and_compared_in_constant_time(client, monkeypatch):
    from bentos import api_gate

    assert_api_key_checks(client, SCORING, PLAIN, "COMPLIANCE_API_KEY", monkeypatch)
    compared = []

    def spy(a, b):
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(api_gate.hmac, "compare_digest", spy)
    assert api_gate.api_key_ok({b"authorization": b"Bearer k", b"x-api-key": b"j"}, "k")
    assert compared == [(b"k", b"k"), (b"j", b"k")]  # every candidate compared, no early exit


def test_no_5xx_for_bodies_that_are_not_an_offer(client):
    for route in (SCORING, BATCH):
        assert_rejects_bad_bodies(client, route)
    r = client.post(BATCH, json={"offers": []})
    assert r.status_code == 200 and r.json() == []


def test_non_finite_and_absurd_numbers_are_422_with_field_errors(client):
    assert_non_finite_numbers_rejected(client, SCORING, "{@}", "stock_price")
    assert_non_finite_numbers_rejected(client, BATCH, '{"offers": [{}, {@}]}', "stock_price")
    assert_field_errors(client, SCORING, {"stock_price": 10**9}, ["stock_price"])
    assert_field_errors(client, SCORING, {"stock_quantity": 10**12}, ["stock_quantity"])
    assert_field_errors(client, SCORING, {"offer_name": "x" * 20_000}, ["offer_name"])
    assert_field_errors(client, BATCH, {"offers": [PLAIN, {"stock_quantity": -1}]}, ["offers", 1, "stock_quantity"])
    assert client.post(SCORING, json={"offer_id": True}).status_code == 422  # no silent "1"
    assert client.post(SCORING, json={"explain": 0}).status_code == 422  # strict types, as documented
    assert client.post(SCORING, json={"stock_price": "12.5"}).status_code == 422
    assert client.post(SCORING, json={"stock": 3.0, "offer_id": 7.0}).json()["offer_id"] == "7"  # 3.0 is an integer


def test_batch_cap_is_enforced(client):
    from bentos.compliance.service import MAX_BATCH

    cheap = dict(PLAIN, explain=False)
    assert len(client.post(BATCH, json={"offers": [cheap] * MAX_BATCH}).json()) == MAX_BATCH
    body = assert_field_errors(client, BATCH, {"offers": [cheap] * (MAX_BATCH + 1)}, ["offers"])
    assert body["detail"][0]["type"] == "too_long"
    flood = client.post(BATCH, json={"offers": [{"stock_price": 1}] * 100_000})  # refused before any scoring
    assert flood.status_code == 422 and flood.json()["detail"][0]["loc"] == ["offers"]


def test_a_422_logs_one_line_without_traceback(client, caplog):
    assert_client_errors_log_one_line(client, SCORING, caplog, "pcdata.compliance")


def test_openapi_document_matches_behaviour(client):
    from bentos.compliance.service import MAX_BATCH, MAX_PRICE, MAX_QUANTITY

    doc = client.get("/docs.json").json()
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    for route in (SCORING, BATCH):
        responses = doc["paths"][route]["post"]["responses"]
        assert {"200", "413", "415", "422"} <= set(responses) and "400" not in responses
        assert list(doc["paths"][route]["post"]["requestBody"]["content"]) == ["application/json"]
    assert {"type": "null"} in schemas["ComplianceOut"]["properties"]["offer_id"]["anyOf"]
    price = schemas["OfferIn"]["properties"]["stock_price"]["anyOf"][0]
    assert price["minimum"] == 0 and price["maximum"] == MAX_PRICE
    for quantity in ("stock_quantity", "stock"):  # the former names are documented, with the same bounds
        assert schemas["OfferIn"]["properties"][quantity]["anyOf"][0]["maximum"] == MAX_QUANTITY
    batch = doc["paths"][BATCH]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert batch["properties"]["offers"]["maxItems"] == MAX_BATCH


def test_schemathesis_finds_nothing_against_the_openapi_document(client):
    failures = fuzz_against_openapi(client, [SCORING, BATCH], max_examples=12)
    assert not failures, "\n\n".join(failures[:5])


def test_real_bentoml_serve_round_trip(model_store, tmp_path):
    log = tmp_path / "serve.log"
    with bentoml_serve("compliance", log, {"BENTOML_HOME": str(model_store[0])}, timeout=90) as url:
        r = requests.post(f"{url}/model/compliance/scoring", json=SUSPICIOUS, timeout=10)
        assert r.status_code == 200 and r.json()["model_tag"] == model_store[1]
        assert (
            requests.post(f"{url}/model/compliance/scoring", json={"stock_price": "x"}, timeout=10).status_code == 422
        )
        assert "bentoml_service_request_total" in requests.get(f"{url}/metrics", timeout=10).text
        st = schemathesis_cli(url, tmp_path, "^/model/compliance/")  # the tool, against the real server
        assert st.returncode == 0, st.stdout[-4000:]
    served = log.read_text()
    assert '"path": "/model/compliance/scoring", "status": 200' in served
    assert '"status": 422, ' in served and "Traceback" not in served  # a client error is one line
