"""The online path of the Recommendation API, without BentoML: Retrieve -> Filter -> Rank -> Diversify.

`Recommender` loads the bundle that `train.register` saved (retrieval arrays, ranker, the offer
catalogue and the users' state as of training) and answers the two endpoints' questions. Business
rules, as the reference applies them (ML.md 1.5):
- only bookable offers (validated, active, stock left, event not started), never one the user booked;
- price within the user's remaining credit and the request's bounds;
- physical offers within `max_distance_km` of the request's location, else of the user's known
  approximate location; without any location only digital offers;
- users under 18: no digital offers (the 15-17 credit is spent on outings and things);
- warm users (bookings >= 2 or clicks >= 25) get the ranked personal list ('algo'); known users
  below that the popular and trending offers ('cold_start'); unknown users the same ('unknown');
- 60 offers, diversified by category.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from catboost import CatBoostRanker

from . import ranking
from .retrieval import Retrieval

LIST_SIZE = 60
SIMILAR_SIZE = 60
WARM_MIN_BOOKINGS, WARM_MIN_CLICKS = 2, 25
MAX_DISTANCE_KM = 50.0
EARTH_RADIUS_KM = 6371.0


@dataclass
class Filters:
    """What a request restricts; None means no restriction."""

    categories: list[str] | None = None
    subcategories: list[str] | None = None
    price_min: float | None = None
    price_max: float | None = None
    is_event: bool | None = None
    is_duo: bool | None = None
    is_digital: bool | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass
class Answer:
    offers: list[str]
    scores: list[float]
    origins: list[str]  # the retrieval source that proposed each offer
    reco_origin: str  # 'algo', 'cold_start' or 'unknown'


def _utc(moment: datetime) -> np.datetime64:
    """The catalogue's dates are naive UTC: an aware bound is converted, a naive one taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(moment, "us")


def haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat), np.radians(lats)
    dphi, dl = p2 - p1, np.radians(lons - lon)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


class Recommender:
    def __init__(self, folder: Path, max_distance_km: float = MAX_DISTANCE_KM):
        folder = Path(folder)
        self.retrieval = Retrieval.load(folder / "retrieval")
        self.ranker = CatBoostRanker()
        self.ranker.load_model(str(folder / "ranker.cbm"))
        self.max_distance_km = max_distance_km
        r = self.retrieval
        offers = pd.read_parquet(folder / "offers.parquet").set_index("item_id").reindex(r.item_ids)
        self.bookable = offers["is_bookable"].fillna(False).to_numpy(bool)
        self.is_digital = offers["is_digital"].fillna(False).to_numpy(bool)
        self.is_event = offers["is_event"].fillna(False).to_numpy(bool)
        self.is_duo = offers["is_duo"].fillna(False).to_numpy(bool)
        self.price = offers["price"].astype(float).fillna(0.0).to_numpy()
        self.lat = offers["venue_latitude"].astype(float).to_numpy()
        self.lon = offers["venue_longitude"].astype(float).to_numpy()
        self.located = ~(np.isnan(self.lat) | np.isnan(self.lon)) & ~self.is_digital
        # the date a date filter reads: the next show for events, the creation for the rest (as the reference)
        self.date = pd.to_datetime(offers["next_beginning_at"].where(self.is_event, offers["created_at"])).to_numpy(
            "datetime64[us]"
        )
        self.category = offers["category"].fillna("UNKNOWN").astype(str).to_numpy()
        self.subcategory = offers["subcategory"].fillna("UNKNOWN").astype(str).to_numpy()
        users = pd.read_parquet(folder / "users.parquet")
        self.users = {str(row.user_id): row for row in users.itertuples(index=False)}
        booked = pd.read_parquet(folder / "booked.parquet")
        self.booked: dict[str, np.ndarray] = {
            str(u): np.array([r.item_index[i] for i in g["item_id"] if i in r.item_index], dtype=int)
            for u, g in booked.groupby("user_id")
        }
        self.metadata = json.loads((folder / "bundle.json").read_text())

    # --- the filter mask ------------------------------------------------------------------------
    def allowed(self, filters: Filters, user_id: str | None) -> np.ndarray:
        mask = self.bookable.copy()
        user = self.users.get(user_id) if user_id is not None else None
        if user_id is not None and user_id in self.booked:
            mask[self.booked[user_id]] = False
        credit = float(user.remaining_credit) if user is not None else None
        bounds = [x for x in (credit, filters.price_max) if x is not None]
        if bounds:
            ceiling = min(bounds)
            mask &= self.price <= ceiling + 1e-9
        if filters.price_min is not None:
            mask &= self.price >= filters.price_min
        if filters.categories:
            mask &= np.isin(self.category, filters.categories)
        if filters.subcategories:
            mask &= np.isin(self.subcategory, filters.subcategories)
        for flag, values in ((filters.is_event, self.is_event), (filters.is_duo, self.is_duo)):
            if flag is not None:
                mask &= values == flag
        if filters.is_digital is not None:
            mask &= self.is_digital == filters.is_digital
        if filters.start_date is not None:
            mask &= self.date >= _utc(filters.start_date)
        if filters.end_date is not None:
            mask &= self.date <= _utc(filters.end_date)
        if user is not None and bool(user.is_underage):
            mask &= ~self.is_digital
        lat, lon = filters.latitude, filters.longitude
        if (lat is None or lon is None) and user is not None and not pd.isna(user.approx_latitude):
            lat, lon = float(user.approx_latitude), float(user.approx_longitude)
        physical = ~self.is_digital
        if lat is None or lon is None:
            mask &= ~physical  # nowhere to measure from: only what is consumed online
        else:
            near = np.zeros_like(mask)
            idx = np.flatnonzero(mask & self.located & self.within_box(lat, lon))
            near[idx] = haversine_km(lat, lon, self.lat[idx], self.lon[idx]) <= self.max_distance_km
            mask &= ~physical | near
        return mask

    def within_box(self, lat: float, lon: float) -> np.ndarray:
        """Offers in a latitude/longitude box that holds every point within `max_distance_km` of (lat, lon).

        The great-circle distance is then computed for those alone: over a million-offer catalogue it was
        most of a request's time. The box has a 1 % margin; near a pole or the antimeridian (Wallis and
        Futuna) it is latitude only.
        """
        dlat = 1.01 * np.degrees(self.max_distance_km / EARTH_RADIUS_KM)
        box = np.abs(self.lat - lat) <= dlat
        reach = abs(lat) + dlat
        if reach < 89.0:
            dlon = dlat / np.cos(np.radians(reach))
            if abs(lon) + dlon < 180.0:
                box &= np.abs(self.lon - lon) <= dlon
        return box

    # --- endpoints' logic -------------------------------------------------------------------------
    def origin_of(self, user_id: str) -> str:
        user = self.users.get(user_id)
        if user is None and user_id not in self.retrieval.user_index:
            return "unknown"
        u = self.retrieval.user_index.get(user_id)
        if u is None:
            return "cold_start"
        row = self.retrieval.history[u]
        bookings, clicks = int((row.data >= 3).sum()), int((row.data == 1).sum())
        if user is not None:
            bookings, clicks = max(bookings, int(user.booking_count)), max(clicks, int(user.click_count))
        return "algo" if bookings >= WARM_MIN_BOOKINGS or clicks >= WARM_MIN_CLICKS else "cold_start"

    def playlist(self, user_id: str, filters: Filters, size: int = LIST_SIZE) -> Answer:
        r = self.retrieval
        reco_origin = self.origin_of(user_id)
        u = r.user_index.get(user_id) if reco_origin == "algo" else None
        allowed = self.allowed(filters, user_id)
        if u is not None:
            allowed[r.seen(u)] = False  # as evaluated offline: new offers only
        scores = ranking.source_scores(r, u)
        cand = ranking.candidates(r, scores, allowed, personal=u is not None)
        return self._rank(u, cand, size, reco_origin)

    def similar(self, offer_id: str, filters: Filters, user_id: str | None = None, size: int = SIMILAR_SIZE) -> Answer:
        r = self.retrieval
        i = r.item_index.get(offer_id)
        allowed = self.allowed(filters, user_id)
        if i is not None:
            allowed[i] = False
            neighbours = np.asarray(r.neighbours[i].todense(), dtype=np.float32).ravel()
        else:
            neighbours = np.zeros(len(r.item_ids), np.float32)
        if i is not None and (neighbours[allowed] > 0).any():
            same = (r.category == r.category[i]).astype(np.float32)
            score = neighbours + 1e-3 * same + 1e-6 * r.popularity / max(float(r.popularity.max(initial=0)), 1.0)
            order = np.flatnonzero(allowed & (score > 0))
            order = order[np.argsort(-score[order], kind="stable")][:size]
            return Answer(
                [str(x) for x in r.item_ids[order]],
                [float(s) for s in score[order]],
                ["cooc" if neighbours[j] > 0 else "category" for j in order.tolist()],
                "algo",
            )
        # no co-occurrence to go on: the popular offers of its category, then anything popular
        same = (r.category == r.category[i]) if i is not None else np.zeros(len(r.item_ids), bool)
        score = r.popularity + 1.0 + same * (r.popularity.max(initial=0) + 1.0)
        order = np.flatnonzero(allowed)
        order = order[np.argsort(-score[order], kind="stable")][:size]
        return Answer(
            [str(x) for x in r.item_ids[order]],
            [float(s) for s in score[order]],
            ["popularity"] * len(order),
            "cold_start" if i is not None else "unknown",
        )

    def _rank(self, u: int | None, cand: ranking.Candidates, size: int, reco_origin: str) -> Answer:
        r = self.retrieval
        if len(cand.items) == 0:
            return Answer([], [], [], reco_origin)
        frame = ranking.features(r, u, cand)
        try:
            scores = ranking.predict(self.ranker, frame, thread_count=1)
        except Exception:  # a ranker failure must not empty the list: fall back to retrieval order (as the reference)
            scores = -ranking._rank_within(cand.scores["popularity"]).astype(float)
        order = np.argsort(-scores, kind="stable")
        picked = ranking.diversify(order, self.category[cand.items[order]], size)
        items = cand.items[picked]
        return Answer(
            [str(x) for x in r.item_ids[items]],
            [round(float(s), 6) for s in scores[picked]],
            [str(o) for o in cand.origin[picked]],
            reco_origin,
        )
