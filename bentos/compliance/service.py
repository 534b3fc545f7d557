"""The Compliance API: scores an offer's chance of passing manual review.

A drop-in for its consumer, the pass Culture backend (pcapi's ComplianceBackend):
`POST /model/compliance/scoring` takes the flat offer JSON and answers
`probability_validated` / `probability_rejected` (integers 0-100) with the top
SHAP features on each side; `POST /model/compliance/scoring_batch` takes
`{"offers": [...]}` for back-fills and answers in the same order.

Invalid input answers 422 (the consumer retries anything else but 401/403/422);
an API key is required when `COMPLIANCE_API_KEY` is set; every response
carries the model tag (`X-Model-Tag` and in the body); one JSON log line per
request with its latency. `/livez`, `/readyz`, `/metrics` come with BentoML.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Literal

import bentoml
import numpy as np
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from models_ml.compliance import MODEL_NAME
from models_ml.compliance.features import FEATURES, feature_rows, pool

TOP_FEATURES = 3
SCORING_PATHS = ("/model/compliance/scoring", "/model/compliance/scoring_batch")
log = logging.getLogger("pcdata.compliance")
if not log.handlers:  # BentoML's formatter drops `extra` fields: print our own JSON lines
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


class OfferIn(BaseModel):
    """The back office's flat offer; every field optional, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore")

    offer_id: str | int | None = None
    offer_name: str | None = None
    offer_description: str | None = None
    offer_subcategory_id: str | None = Field(
        None, validation_alias=AliasChoices("offer_subcategory_id", "offer_subcategoryid")
    )
    venue_department_code: str | None = None
    offer_type_label: str | None = Field(None, validation_alias=AliasChoices("offer_type_label", "type"))
    offer_sub_type_label: str | None = Field(None, validation_alias=AliasChoices("offer_sub_type_label", "subType"))
    rayon: str | None = None
    macro_rayon: str | None = None
    stock_price: float | None = Field(None, ge=0)
    stock_quantity: int | None = Field(None, ge=0, validation_alias=AliasChoices("stock_quantity", "stock"))
    explain: bool = Field(True, description="Compute the main SHAP features (about half the latency).")


class ComplianceOut(BaseModel):
    offer_id: str | None
    probability_validated: int = Field(ge=0, le=100)
    validation_main_features: list[str]
    probability_rejected: int = Field(ge=0, le=100)
    rejection_main_features: list[str]
    validation_status_prediction: Literal["approved", "rejected"]
    model_tag: str


class OffersIn(BaseModel):
    offers: list[OfferIn] = Field(max_length=1000)


class ApiGate:
    """ASGI middleware: optional API-key auth, 400 -> 422 on validation errors, one log line per request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in SCORING_PATHS:
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}
        expected = os.environ.get("COMPLIANCE_API_KEY")
        if expected:
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"x-api-key", b"").decode() or headers.get(b"authorization", b"").decode().removeprefix(
                "Bearer "
            )
            if given != expected:
                status["code"] = 401
                body = b'{"error": "missing or invalid API key"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                _log_request(scope, 401, started)
                return

        async def send_mapped(message):
            if message["type"] == "http.response.start":
                if message["status"] == 400:  # BentoML's input validation error: the consumer expects 422
                    message = {**message, "status": 422}
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_mapped)
        finally:
            _log_request(scope, status["code"], started)


def _log_request(scope, status: int, started: float) -> None:
    log.info(
        json.dumps(
            {
                "event": "request",
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            }
        )
    )


@bentoml.service(name="compliance", workers=1, traffic={"timeout": 10, "max_concurrency": 32})
class Compliance:
    model_ref = bentoml.models.BentoModel(f"{MODEL_NAME}:latest")

    def __init__(self) -> None:
        from catboost import CatBoostClassifier

        self.model = CatBoostClassifier()
        self.model.load_model(self.model_ref.path_of("model.cbm"))
        meta = self.model_ref.info.metadata
        self.threshold = float(meta["threshold"])
        self.subcategory_flags = meta.get("subcategory_flags", {})
        self.tag = str(self.model_ref.tag)

    def _score(self, offers: list[OfferIn]) -> list[ComplianceOut]:
        rows = feature_rows([o.model_dump(exclude={"explain"}) for o in offers], self.subcategory_flags)
        p_rejected = self.model.predict_proba(pool(rows), thread_count=1)[:, 1]
        explain = [i for i, o in enumerate(offers) if o.explain]
        shap = (
            self.model.get_feature_importance(pool([rows[i] for i in explain]), type="ShapValues", thread_count=1)[
                :, :-1
            ]
            if explain
            else np.empty((0, len(FEATURES)))
        )
        shap_of = dict(zip(explain, shap, strict=True))
        out = []
        for i, offer in enumerate(offers):
            rejected, validated = [], []
            if i in shap_of:  # positive SHAP pushes towards rejection (the model's positive class)
                order = np.argsort(shap_of[i])
                rejected = [FEATURES[j] for j in order[::-1][:TOP_FEATURES] if shap_of[i][j] > 0]
                validated = [FEATURES[j] for j in order[:TOP_FEATURES] if shap_of[i][j] < 0]
            p = float(p_rejected[i])
            out.append(
                ComplianceOut(
                    offer_id=None if offer.offer_id is None else str(offer.offer_id),
                    probability_validated=round(100 * (1 - p)),
                    validation_main_features=validated,
                    probability_rejected=round(100 * p),
                    rejection_main_features=rejected,
                    validation_status_prediction="rejected" if p >= self.threshold else "approved",
                    model_tag=self.tag,
                )
            )
        return out

    @bentoml.api(route="/model/compliance/scoring")
    def scoring(self, offer: OfferIn, /, ctx: bentoml.Context) -> ComplianceOut:
        ctx.response.headers["X-Model-Tag"] = self.tag
        return self._score([offer])[0]

    @bentoml.api(route="/model/compliance/scoring_batch")
    def scoring_batch(self, offers: list[OfferIn], ctx: bentoml.Context) -> list[ComplianceOut]:
        ctx.response.headers["X-Model-Tag"] = self.tag
        return self._score(offers)


Compliance.add_asgi_middleware(ApiGate)
