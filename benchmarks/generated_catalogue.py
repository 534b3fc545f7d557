"""A generated recommendation catalogue of any size, in the ml marts' shapes, and a model store serving it.

The demo's world holds a few thousand offers; production holds about a million. This writes the three
frames `models_ml.recommendation.train` reads (interactions, offer features, user features) with
numpy alone, so 1,000,000 offers and 100,000 users take seconds and about a gigabyte:
- offers: the backend's subcategories (the dbt seed), prices, events with a next date, digital offers,
  venues scattered around 40 French cities; 90 % bookable;
- users: 15-20 years old, remaining credit, an approximate location near the same cities;
- interactions: about `events_per_user` per user over 180 days, items drawn from a Zipf-like popularity
  with a per-user favourite category (the structure the models learn), clicks, favourites and bookings.

`build_store` trains the ranker on a sample of users (its features do not depend on the catalogue's
size), fits retrieval on everything, and registers the bundle with `train.register` in a BentoML store.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

from warehouse import REPO

CITIES = np.array(  # (latitude, longitude) of 40 French cities: where the venues and users are
    [
        (48.857, 2.352),
        (45.764, 4.836),
        (43.297, 5.370),
        (43.605, 1.444),
        (43.710, 7.262),
        (47.218, -1.554),
        (48.573, 7.752),
        (43.611, 3.877),
        (44.838, -0.579),
        (50.629, 3.057),
        (48.117, -1.678),
        (49.258, 4.032),
        (45.440, 4.387),
        (43.124, 5.928),
        (49.494, 0.107),
        (45.188, 5.724),
        (47.322, 5.041),
        (47.478, -0.563),
        (43.837, 4.360),
        (45.778, 3.087),
        (48.692, 6.184),
        (49.119, 6.176),
        (47.902, 1.909),
        (49.443, 1.099),
        (49.895, 2.302),
        (46.580, 0.340),
        (45.833, 1.261),
        (47.394, 0.685),
        (43.296, -0.370),
        (42.699, 2.895),
        (48.390, -4.486),
        (47.750, 7.336),
        (46.160, -1.151),
        (44.933, 4.892),
        (43.949, 4.806),
        (16.241, -61.533),
        (14.616, -61.059),
        (-20.882, 55.450),
        (4.937, -52.326),
        (41.919, 8.738),
    ]
)
START = np.datetime64("2026-05-01T00:00:00", "us")
DAYS = 180


def generate(offers: int, users: int, events_per_user: float = 20.0, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    seed_table = pd.read_csv(REPO / "dbt_project" / "seeds" / "offers" / "offer_subcategories.csv")
    sub = rng.integers(0, len(seed_table), offers)
    is_event = seed_table["is_event"].to_numpy(bool)[sub]
    is_digital = seed_table["is_digital"].to_numpy(bool)[sub]
    city = rng.integers(0, len(CITIES), offers)
    lat = np.where(is_digital, np.nan, CITIES[city, 0] + rng.normal(0, 0.08, offers))
    lon = np.where(is_digital, np.nan, CITIES[city, 1] + rng.normal(0, 0.08, offers))
    created = START + rng.integers(0, DAYS * 86400, offers).astype("timedelta64[s]")
    as_of = START + np.timedelta64(DAYS, "D")
    shows = as_of + rng.integers(1, 90 * 86400, offers).astype("timedelta64[s]")
    next_show = np.where(is_event, shows, np.datetime64("NaT"))
    offer_ids = np.arange(1, offers + 1).astype(str)
    offer_frame = pd.DataFrame(
        {
            "offer_id": offer_ids,
            "offer_category_id": seed_table["category_id"].to_numpy()[sub],
            "offer_subcategory_id": seed_table["subcategory_id"].to_numpy()[sub],
            "is_event": is_event,
            "is_digital": is_digital,
            "is_duo": rng.random(offers) < 0.2,
            "stock_price": np.round(rng.gamma(2.0, 9.0, offers), 2),
            "is_bookable": rng.random(offers) < 0.9,
            "venue_latitude": lat,
            "venue_longitude": lon,
            "next_beginning_at": pd.to_datetime(next_show),
            "offer_created_at": pd.to_datetime(created),
            "features_as_of": pd.Timestamp(as_of),
        }
    )

    home = rng.integers(0, len(CITIES), users)
    age = rng.integers(15, 21, users)
    user_frame = pd.DataFrame(
        {
            "user_id": np.arange(1, users + 1).astype(str),
            "age": age,
            "is_underage": age < 18,
            "remaining_credit": np.round(rng.uniform(0, 300, users), 2),
            "approx_latitude": CITIES[home, 0] + rng.normal(0, 0.05, users),
            "approx_longitude": CITIES[home, 1] + rng.normal(0, 0.05, users),
        }
    )

    # items by popularity rank (Zipf-like), each user leaning to one category
    per_user = rng.poisson(events_per_user, users) + 1
    n = int(per_user.sum())
    user_of = np.repeat(np.arange(users), per_user)
    popularity = 1.0 / np.arange(1, offers + 1) ** 0.9
    by_rank = rng.permutation(offers)
    item = by_rank[np.searchsorted(np.cumsum(popularity) / popularity.sum(), rng.random(n))]
    categories = seed_table["category_id"].to_numpy()
    favourite = rng.integers(0, len(categories), users)[user_of]
    same = offer_frame["offer_category_id"].to_numpy()[item] == categories[favourite]
    redraw = ~same & (rng.random(n) < 0.6)  # most of a user's other-category draws go again
    item[redraw] = by_rank[np.searchsorted(np.cumsum(popularity) / popularity.sum(), rng.random(int(redraw.sum())))]
    kind = rng.choice(np.array(["click", "favorite", "booking"]), n, p=[0.75, 0.1, 0.15])
    at = START + rng.integers(0, DAYS * 86400, n).astype("timedelta64[s]")
    interactions = pd.DataFrame(
        {
            "user_id": user_frame["user_id"].to_numpy()[user_of],
            "offer_id": offer_ids[item],
            "event_type": kind,
            "event_at": pd.to_datetime(at),
            "is_cancelled_booking": (kind == "booking") & (rng.random(n) < 0.05),
        }
    )
    counts = interactions[~interactions["is_cancelled_booking"]].groupby(["user_id", "event_type"]).size()
    counts = counts.unstack(fill_value=0).reindex(user_frame["user_id"], fill_value=0)
    user_frame["booking_count"] = counts.get("booking", 0).to_numpy()
    user_frame["click_count"] = counts.get("click", 0).to_numpy()
    return {"interactions": interactions, "offers": offer_frame, "users": user_frame}


def build_store(marts: dict[str, pd.DataFrame], home: Path, sample_users: int = 1000) -> tuple[str, dict]:
    """Register the generated catalogue's bundle in the BentoML store at `home`; returns (tag, timings)."""
    from models_ml.recommendation import data, retrieval, train
    from models_ml.recommendation.pipeline import Params
    from models_ml.store import use_store

    use_store(home)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    sample = set(marts["users"]["user_id"].head(sample_users))
    log = marts["interactions"]
    small = {**marts, "interactions": log[log["user_id"].isin(sample)]}
    small["offers"] = marts["offers"][marts["offers"]["offer_id"].isin(set(small["interactions"]["offer_id"]))]
    trained = train.train(small, Params(iterations=100))
    timings["ranker on a sample"] = time.perf_counter() - started
    started = time.perf_counter()
    interactions, items = data.from_marts(log, marts["offers"])
    full = dataclasses.replace(trained, retrieval=retrieval.fit(interactions, items))
    timings["retrieval on everything"] = time.perf_counter() - started
    started = time.perf_counter()
    tag = train.register(full, marts)
    timings["bundle written"] = time.perf_counter() - started
    return tag, timings
