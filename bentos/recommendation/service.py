"""The Recommendation API: a drop-in for the pass Culture backend's recommendation calls (ML.md 1.5).

- `POST /playlist_recommendation/{user_id}?latitude=&longitude=` with the camelCase `PlaylistParams`
  body (may be empty) answers `{"playlist_recommended_offers": [offer_id, ...], "params": {"reco_origin",
  "model_origin", "call_id"}}`;
- `GET /similar_offers/{offer_id}?latitude=&longitude=&user_id=&categories=&subcategories=` answers
  `{"results": [...], "params": {...}}`.

BentoML routes are POST-only and literal, so both paths are a small Starlette app mounted on the
service (ML.md 2.2). Its HTTP front is `bentos.api_gate.ApiGate`, as for the Compliance API: an API
key is required when `RECOMMENDATION_API_KEY` is set (`Authorization: Bearer <key>`, `X-API-Key`,
or the reference's `token` query parameter, which the app backend sends; all compared in constant
time); a body that is not `application/json` is a 415 (the playlist body may be left out), one over
16 MiB a 413; an invalid query or body a 422 `{"error", "detail": [{"loc": ["query"|"body", field],
"msg", "type"}]}` (the values sent are never echoed), with one log line naming the fields; unknown
categories and subcategories are 422 too. `/docs.json` documents both routes. Every answer appends one JSON line to
`$RECOMMENDATION_LOG_DIR/past_offer_context/<date>.jsonl` (the offers shown with their rank, score
and retrieval origin, the reference's "past offer context"), a file a dlt filesystem source can load
back. `/livez`, `/readyz`, `/metrics` come with BentoML.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import bentoml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bentos.api_gate import ApiGate, GatedRoute, invalid, validation_detail
from models_ml.recommendation import MODEL_NAME
from models_ml.recommendation.serving import Answer, Filters, Recommender

MAX_PRICE = 300
_instance: list = []  # the service instance, for routes called outside a BentoML server (in-process tests)
log = logging.getLogger("pcdata.recommendation")
if not log.handlers:  # BentoML's formatter drops `extra` fields: print our own lines
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


UNSUPPORTED = (
    "the catalogue has no {what}: filter with categories or subcategories (an ignored filter would show "
    "offers outside what the module asked for)"
)


def _unsupported(what: str):
    def check(value):
        if value:  # absent, null or empty: nothing asked
            raise ValueError(UNSUPPORTED.format(what=what))
        return None

    return check


class PlaylistParams(BaseModel):
    """The app backend's body, camelCase as it sends it (ML.md 1.5); unknown keys are ignored.

    Honoured: startDate/endDate (the next show for events, the creation date otherwise), isEvent,
    isDuo, isDigital, priceMin/priceMax, isRecoShuffled, categories, subcategories.
    `isRestrained` (default true: leave out offers restricted from recommendation) is accepted and
    always holds: the catalogue has no restricted offers. `submixingFeatureDict` is accepted and
    ignored: lists are always diversified by category. A non-empty `searchGroupNames`,
    `offerTypeList`, `gtlIds` or `gtlL1`..`gtlL4` is a 422: the catalogue has no search groups, offer
    types or book shelves (GTL) to filter on, and ignoring the filter would fill a module with offers
    it did not ask for.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    start_date: datetime | None = Field(None, alias="startDate")
    end_date: datetime | None = Field(None, alias="endDate")
    is_event: bool | None = Field(None, alias="isEvent")
    is_duo: bool | None = Field(None, alias="isDuo")
    is_digital: bool | None = Field(None, alias="isDigital")
    price_min: float | None = Field(None, alias="priceMin", ge=0)
    price_max: float | None = Field(None, alias="priceMax", ge=0, le=MAX_PRICE)
    is_reco_shuffled: bool = Field(False, alias="isRecoShuffled")
    is_restrained: bool = Field(True, alias="isRestrained", description="Always holds: no restricted offers.")
    categories: list[str] | None = None
    subcategories: list[str] | None = None
    search_group_names: list[str] | None = Field(None, alias="searchGroupNames", description="Unsupported: 422.")
    offer_type_list: list[dict] | None = Field(None, alias="offerTypeList", description="Unsupported: 422.")
    gtl_ids: list[str] | None = Field(None, alias="gtlIds", description="Unsupported: 422.")
    gtl_l1: list[str] | None = Field(None, alias="gtlL1", description="Unsupported: 422.")
    gtl_l2: list[str] | None = Field(None, alias="gtlL2", description="Unsupported: 422.")
    gtl_l3: list[str] | None = Field(None, alias="gtlL3", description="Unsupported: 422.")
    gtl_l4: list[str] | None = Field(None, alias="gtlL4", description="Unsupported: 422.")
    submixing_feature_dict: dict | None = Field(None, alias="submixingFeatureDict", description="Ignored.")

    _no_search_groups = field_validator("search_group_names")(_unsupported("search groups"))
    _no_offer_types = field_validator("offer_type_list")(_unsupported("offer types"))
    _no_gtl = field_validator("gtl_ids", "gtl_l1", "gtl_l2", "gtl_l3", "gtl_l4")(_unsupported("GTL book shelves"))

    @model_validator(mode="after")
    def _ordered(self) -> PlaylistParams:
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("startDate is after endDate")
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise ValueError("priceMin is above priceMax")
        return self


class Location(BaseModel):
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both(self) -> Location:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        return self


class SimilarQuery(Location):
    """`retrieval_model` (coreservation or graph) is accepted; both are served by co-occurrence. A non-empty
    `search_group_names` is a 422, as in the playlist."""

    user_id: str | None = None
    categories: list[str] | None = None
    subcategories: list[str] | None = None
    search_group_names: list[str] | None = Field(None, description="Unsupported: 422.")
    retrieval_model: Literal["coreservation", "graph"] = "coreservation"

    @field_validator("categories", "subcategories", mode="before")
    @classmethod
    def _empty_is_none(cls, v):
        return v or None

    _no_search_groups = field_validator("search_group_names")(_unsupported("search groups"))


def _service():
    if _instance:
        return _instance[-1]
    return bentoml.get_current_service()


class RecoParams(BaseModel):
    reco_origin: str = Field(description="'algo' (personal ranking), 'cold_start' or 'unknown' (user not known).")
    model_origin: str = Field(description="The served bundle's BentoML tag.")
    call_id: str = Field(description="This answer's id, as logged in the past offer context.")


class PlaylistOut(BaseModel):
    playlist_recommended_offers: list[str]
    params: RecoParams


class SimilarOut(BaseModel):
    results: list[str]
    params: RecoParams


def _unprocessable(detail: list[dict]) -> JSONResponse:
    return JSONResponse(invalid(detail), status_code=422)


def _enum_errors(values: list[str] | None, known: set[str], where: list[str]) -> list[dict]:
    if not values or not known:
        return []
    return [
        {"type": "enum", "loc": [*where, i], "msg": f"unknown value {v!r}"}
        for i, v in enumerate(values)
        if v not in known
    ]


async def playlist_recommendation(request: Request) -> JSONResponse:
    started = time.perf_counter()
    service = _service()
    try:  # the gate has checked both already; parsed again here for their values
        location = Location.model_validate(PLAYLIST.query_values(request.scope.get("query_string", b"")))
        raw = await request.body()
        params = PlaylistParams.model_validate_json(raw) if raw.strip() else PlaylistParams()
    except ValidationError as exc:
        return _unprocessable(validation_detail(exc))
    unknown = _enum_errors(params.categories, service.categories, ["body", "categories"]) + _enum_errors(
        params.subcategories, service.subcategories, ["body", "subcategories"]
    )
    if unknown:
        return _unprocessable(unknown)
    filters = Filters(
        categories=params.categories,
        subcategories=params.subcategories,
        price_min=params.price_min,
        price_max=params.price_max,
        is_event=params.is_event,
        is_duo=params.is_duo,
        is_digital=params.is_digital,
        start_date=params.start_date,
        end_date=params.end_date,
        latitude=location.latitude,
        longitude=location.longitude,
    )
    user_id = request.path_params["user_id"]
    answer = await run_in_threadpool(service.engine.playlist, user_id, filters)
    if params.is_reco_shuffled:
        order = random.sample(range(len(answer.offers)), len(answer.offers))
        answer = Answer(
            *([getattr(answer, f)[i] for i in order] for f in ("offers", "scores", "origins")), answer.reco_origin
        )
    call_id = str(uuid.uuid4())
    service.log_answer(
        "playlist_recommendation",
        call_id,
        answer,
        started,
        user_id=user_id,
        context={**location.model_dump(), "params": params.model_dump(mode="json", exclude_none=True)},
    )
    return JSONResponse(
        {
            "playlist_recommended_offers": answer.offers,
            "params": {"reco_origin": answer.reco_origin, "model_origin": service.tag, "call_id": call_id},
        }
    )


async def similar_offers(request: Request) -> JSONResponse:
    started = time.perf_counter()
    service = _service()
    try:
        parsed = SimilarQuery.model_validate(SIMILAR.query_values(request.scope.get("query_string", b"")))
    except ValidationError as exc:
        return _unprocessable(validation_detail(exc, "query"))
    unknown = _enum_errors(parsed.categories, service.categories, ["query", "categories"]) + _enum_errors(
        parsed.subcategories, service.subcategories, ["query", "subcategories"]
    )
    if unknown:
        return _unprocessable(unknown)
    filters = Filters(
        categories=parsed.categories,
        subcategories=parsed.subcategories,
        latitude=parsed.latitude,
        longitude=parsed.longitude,
    )
    offer_id = request.path_params["offer_id"]
    answer = await run_in_threadpool(service.engine.similar, offer_id, filters, parsed.user_id)
    call_id = str(uuid.uuid4())
    service.log_answer(
        "similar_offers",
        call_id,
        answer,
        started,
        user_id=parsed.user_id,
        offer_id=offer_id,
        context=parsed.model_dump(mode="json", exclude_none=True),
    )
    return JSONResponse(
        {
            "results": answer.offers,
            "params": {"reco_origin": answer.reco_origin, "model_origin": service.tag, "call_id": call_id},
        }
    )


PLAYLIST = GatedRoute(
    "POST",
    "/playlist_recommendation/{user_id}",
    query=Location,
    body=PlaylistParams,
    body_optional=True,
    response=PlaylistOut,
    summary="60 bookable offers for the user, ranked and diversified",
)
SIMILAR = GatedRoute(
    "GET", "/similar_offers/{offer_id}", query=SimilarQuery, response=SimilarOut, summary="Offers like this one"
)
# the gate's options, shared by the served app and the in-process tests
GATE = {"api_key_env": "RECOMMENDATION_API_KEY", "routes": (PLAYLIST, SIMILAR), "query_key": "token"}

routes = Starlette(
    routes=[
        Route("/playlist_recommendation/{user_id}", playlist_recommendation, methods=["POST"]),
        Route("/similar_offers/{offer_id}", similar_offers, methods=["GET"]),
    ]
)


@bentoml.service(name="recommendation", workers=1, traffic={"timeout": 10, "max_concurrency": 32})
@bentoml.asgi_app(routes, path="/")
class Recommendation:
    bundle_ref = bentoml.models.BentoModel(f"{MODEL_NAME}:latest")

    def __init__(self) -> None:
        folder = Path(self.bundle_ref.path)
        self.engine = Recommender(folder)
        self.tag = str(self.bundle_ref.tag)
        bundle = self.engine.metadata
        self.categories = set(bundle.get("categories", []))
        self.subcategories = set(bundle.get("subcategories", []))
        self.log_dir = Path(os.environ.get("RECOMMENDATION_LOG_DIR", "logs")) / "past_offer_context"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        _instance.append(self)

    def log_answer(self, endpoint: str, call_id: str, answer: Answer, started: float, **fields) -> None:
        """One JSON line per answer: the offers shown, with rank, score and origin."""
        now = datetime.now(UTC)
        line = {
            "event_type": "recommendation_past_offer_context",
            "call_id": call_id,
            "logged_at": now.isoformat(),
            "endpoint": endpoint,
            "reco_origin": answer.reco_origin,
            "model_origin": self.tag,
            **fields,
            "offers": [
                {"offer_id": o, "rank": i + 1, "score": s, "origin": g}
                for i, (o, s, g) in enumerate(zip(answer.offers, answer.scores, answer.origins, strict=True))
            ],
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        with open(self.log_dir / f"{now:%Y-%m-%d}.jsonl", "a", encoding="utf-8") as out:
            out.write(json.dumps(line, default=str) + "\n")
        log.info(
            json.dumps(
                {k: line[k] for k in ("event_type", "call_id", "endpoint", "reco_origin", "latency_ms")}
                | {"offers": len(answer.offers)}
            )
        )


Recommendation.add_asgi_middleware(ApiGate, service=Recommendation, **GATE)
