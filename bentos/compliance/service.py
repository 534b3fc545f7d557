"""The Compliance API: scores an offer's chance of passing manual review.

A drop-in for its consumer, the pass Culture backend (pcapi's ComplianceBackend):
`POST /model/compliance/scoring` takes the flat offer JSON and answers
`probability_validated` / `probability_rejected` (integers 0-100) with the top
SHAP features on each side; `POST /model/compliance/scoring_batch` takes
`{"offers": [...]}` for back-fills and answers in the same order.

At most 1,000 offers per batch; numbers must be finite and plausible
(`MAX_PRICE`, `MAX_QUANTITY`). The HTTP front is `bentos.api_gate.ApiGate`:
an empty, non-JSON or invalid body answers 415/422 with the field errors (the
consumer retries anything else but 401/403/422); an API key is required when
`COMPLIANCE_API_KEY` is set (`Authorization: Bearer <key>` or `X-API-Key`);
one JSON log line per request; `/docs.json` documents all of it (OpenAPI 3.1).
Every response carries the model tag (`X-Model-Tag` and in the body).
`/livez`, `/readyz`, `/metrics` come with BentoML.
"""

from __future__ import annotations

from typing import Annotated, Literal

import bentoml
import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr, model_validator

from bentos.api_gate import ApiGate
from models_ml.compliance import MODEL_NAME
from models_ml.compliance.features import FEATURES, feature_rows, pool

TOP_FEATURES = 3
MAX_BATCH = 1000  # offers per scoring_batch call: a bigger one would hold the only worker for seconds
MAX_PRICE = 100_000.0  # EUR: far above any real offer, low enough to catch unit and overflow errors
MAX_QUANTITY = 1_000_000  # far above any real stock: a bigger one is a unit or overflow error
MAX_TEXT = 10_000
MAX_CODE = 200


FORMER_NAMES = {
    "offer_subcategoryid": "offer_subcategory_id",
    "type": "offer_type_label",
    "subType": "offer_sub_type_label",
    "stock": "stock_quantity",
}


def _whole(value):
    """JSON Schema counts 3.0 as an integer: accept it as 3, and nothing else that is not an int."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeNumber = Annotated[int, BeforeValidator(_whole)]
# Bounds inside the annotation, so that the JSON schema keeps them as minimum/maximum
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY), BeforeValidator(_whole)]


def _text(max_length: int, **kwargs):
    return Field(None, max_length=max_length, **kwargs)


class OfferIn(BaseModel):
    """The back office's flat offer; every field optional, unknown fields ignored; numbers finite and bounded.

    Strict types: `"12"` is no price and `0` no boolean, as the OpenAPI document says.
    """

    model_config = ConfigDict(extra="ignore", strict=True)

    offer_id: StrictStr | WholeNumber | None = Field(None, description="Echoed back as a string.")
    offer_name: str | None = _text(MAX_TEXT)
    offer_description: str | None = _text(MAX_TEXT)
    offer_subcategory_id: str | None = _text(MAX_CODE)
    venue_department_code: str | None = _text(MAX_CODE)
    offer_type_label: str | None = _text(MAX_CODE)
    offer_sub_type_label: str | None = _text(MAX_CODE)
    rayon: str | None = _text(MAX_CODE)
    macro_rayon: str | None = _text(MAX_CODE)
    stock_price: float | None = Field(None, ge=0, le=MAX_PRICE, allow_inf_nan=False, description="EUR.")
    stock_quantity: Quantity | None = None
    explain: bool = Field(True, description="Compute the main SHAP features (about half the latency).")
    # The 2023 consumers' names, declared (not aliases) so that the OpenAPI document shows and bounds them
    offer_subcategoryid: str | None = _text(MAX_CODE, description="Former name of offer_subcategory_id.")
    type: str | None = _text(MAX_CODE, description="Former name of offer_type_label.")
    subType: str | None = _text(MAX_CODE, description="Former name of offer_sub_type_label.")
    stock: Quantity | None = Field(None, description="Former name of stock_quantity.")

    @model_validator(mode="after")
    def _former_names(self) -> OfferIn:
        for former, name in FORMER_NAMES.items():  # the current name wins when both are sent
            if getattr(self, name) is None:
                setattr(self, name, getattr(self, former))
        return self


class ComplianceOut(BaseModel):
    offer_id: str | None = Field(description="The offer_id sent, as a string; null when none was sent.")
    probability_validated: int = Field(ge=0, le=100)
    validation_main_features: list[str]
    probability_rejected: int = Field(ge=0, le=100)
    rejection_main_features: list[str]
    validation_status_prediction: Literal["approved", "rejected"]
    model_tag: str


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
        if not offers:  # CatBoost refuses an empty pool
            return []
        rows = feature_rows([o.model_dump(exclude={"explain", *FORMER_NAMES}) for o in offers], self.subcategory_flags)
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
    def scoring_batch(
        self, offers: Annotated[list[OfferIn], Field(max_length=MAX_BATCH)], ctx: bentoml.Context
    ) -> list[ComplianceOut]:
        ctx.response.headers["X-Model-Tag"] = self.tag
        return self._score(offers)


Compliance.add_asgi_middleware(ApiGate, service=Compliance, api_key_env="COMPLIANCE_API_KEY")
