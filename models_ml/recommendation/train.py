"""Train the recommender from the ml marts, register the served bundle, write the evaluation report.

The bundle (one BentoML model, ML.md 3.4): retrieval arrays (`retrieval/`), the ranker (`ranker.cbm`),
the offer catalogue with what the filters read (`offers.parquet`), the users' credit, age and
approximate location (`users.parquet`) and their non-cancelled bookings (`booked.parquet`), all as
of the marts' `features_as_of`; `bundle.json` and the model's metadata say what it holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import MODEL_NAME, data, pipeline, ranking, serving
from .pipeline import Params, Trained

SCHEMA = "marts_ml"
TABLES = {
    "interactions": "mrt_ml__recommendation_interactions",
    "offers": "mrt_ml__recommendation_offer_features",
    "users": "mrt_ml__recommendation_user_features",
}
# what training and the bundle read of each mart (None: all of it); the interactions' id and origin screen
# are two strings per interaction that nothing here reads (10.7 million interactions at scale 200)
COLUMNS: dict[str, list[str] | None] = {
    "interactions": ["user_id", "offer_id", "event_type", "event_at", "is_cancelled_booking"],
    "offers": None,
    "users": None,
}


def read_marts(settings) -> dict[str, pd.DataFrame]:
    from warehouse import read_table

    return {name: read_table(settings, SCHEMA, table, COLUMNS[name]) for name, table in TABLES.items()}


def train(marts: dict[str, pd.DataFrame], params: Params | None = None) -> Trained:
    log, items = data.from_marts(marts["interactions"], marts["offers"])
    return pipeline.evaluate(log, items, params)


def write_bundle(trained: Trained, marts: dict[str, pd.DataFrame], folder: Path) -> dict:
    """Everything the service loads, under `folder`; returns the bundle's description (bundle.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    trained.retrieval.save(folder / "retrieval")
    trained.ranker.save_model(str(folder / "ranker.cbm"), format="cbm")
    offers = marts["offers"].rename(
        columns={
            "offer_id": "item_id",
            "offer_category_id": "category",
            "offer_subcategory_id": "subcategory",
            "stock_price": "price",
            "offer_created_at": "created_at",
        }
    )
    offers = offers.assign(item_id=offers["item_id"].astype(str))[
        [
            "item_id",
            "category",
            "subcategory",
            "is_event",
            "is_digital",
            "is_duo",
            "price",
            "is_bookable",
            "venue_latitude",
            "venue_longitude",
            "next_beginning_at",
            "created_at",
        ]
    ]
    offers.to_parquet(folder / "offers.parquet", index=False)
    users = marts["users"]
    users.assign(user_id=users["user_id"].astype(str))[
        [
            "user_id",
            "age",
            "is_underage",
            "remaining_credit",
            "booking_count",
            "click_count",
            "approx_latitude",
            "approx_longitude",
        ]
    ].to_parquet(folder / "users.parquet", index=False)
    log = marts["interactions"]
    booked = log[(log["event_type"] == "booking") & ~log["is_cancelled_booking"].astype(bool)]
    pd.DataFrame(
        {"user_id": booked["user_id"].astype(str), "item_id": booked["offer_id"].astype(str)}
    ).drop_duplicates().to_parquet(folder / "booked.parquet", index=False)
    as_of = str(marts["offers"]["features_as_of"].max()) if len(marts["offers"]) else None
    categories, subcategories = known_categories(offers)
    bundle = {
        "features": ranking.FEATURES,
        "cat_features": ranking.CAT_FEATURES,
        "retrieval_sources": list(ranking.SOURCES),
        "list_size": serving.LIST_SIZE,
        "warm_user": {"min_bookings": serving.WARM_MIN_BOOKINGS, "min_clicks": serving.WARM_MIN_CLICKS},
        "max_distance_km": serving.MAX_DISTANCE_KM,
        "features_as_of": as_of,
        "categories": categories,  # what the service accepts in a request's filters
        "subcategories": subcategories,
        "catalogue": {"offers": len(offers), "bookable": int(offers["is_bookable"].sum()), "users": len(users)},
    }
    (folder / "bundle.json").write_text(json.dumps(bundle, indent=2))
    (folder / "metrics.json").write_text(json.dumps(trained.metrics, indent=2, default=str))
    return bundle


def known_categories(offers: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The backend's categories and subcategories (the dbt seed), plus any the catalogue holds."""
    from warehouse import REPO

    seed = REPO / "dbt_project" / "seeds" / "offers" / "offer_subcategories.csv"
    known = pd.read_csv(seed) if seed.exists() else pd.DataFrame(columns=["subcategory_id", "category_id"])
    categories = set(known["category_id"].astype(str)) | set(offers["category"].dropna().astype(str))
    subcategories = set(known["subcategory_id"].astype(str)) | set(offers["subcategory"].dropna().astype(str))
    return sorted(categories), sorted(subcategories)


def register(trained: Trained, marts: dict[str, pd.DataFrame]) -> str:
    """Save the bundle to the BentoML model store; returns the tag (name:version)."""
    import bentoml

    headline = {
        method: {k: trained.metrics["models"][method][k] for k in ("@10", "@50")}
        for method in ("ranker", "ranker_diversified", "popularity", "recent_popularity", "cooccurrence", "random")
    }
    with bentoml.models.create(
        name=MODEL_NAME,
        labels={"stage": "candidate", "task": "recommendation"},
        metadata={
            "training_window": trained.metrics["data"]["window"],
            "data_fingerprint": trained.metrics["data"]["fingerprint"],
            "rows": {k: v for k, v in trained.metrics["data"].items() if isinstance(v, int)},
            "features": ranking.FEATURES,
            "retrieval_sources": list(ranking.SOURCES),
            "offline_metrics": headline,
            "params": trained.metrics.get("params", {}),  # the sample sizes say what it was evaluated and trained on
            "sampling": {
                "evaluated_users": trained.metrics["data"]["evaluated_users"],
                "evaluable_users": trained.metrics["data"].get("evaluable_users"),
                "ranker": trained.metrics["ranker"]["served"],
            },
        },
    ) as ref:
        write_bundle(trained, marts, Path(ref.path))
    return str(ref.tag)
