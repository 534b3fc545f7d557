"""Interaction logs in the one shape the pipeline reads, from the warehouse marts or from a file.

Columns: `user_id`, `item_id` (text), `event_type` (`click`, `favorite`, `booking`), `event_at`
(naive UTC timestamp). Item features are optional: `category`, `subcategory`, `price`, `created_at`;
without them the pipeline uses only what it derives from the interactions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EVENT_WEIGHTS = {"click": 1.0, "favorite": 2.0, "booking": 3.0}  # also the graded relevance of the ranker's labels
REQUIRED = ("user_id", "item_id", "event_type", "event_at")
ITEM_FEATURES = ("category", "subcategory", "price", "created_at")


class InvalidInteractions(ValueError):
    """The interaction log cannot be read as one (missing columns, unknown event types, bad timestamps)."""


def _utc_naive(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    return stamps.dt.tz_convert(None).astype("datetime64[us]")


def normalise(raw: pd.DataFrame) -> pd.DataFrame:
    """Checked and typed interactions; rows without a user, an item or a time are an error, not dropped."""
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InvalidInteractions(f"missing column(s) {missing}; expected {list(REQUIRED)}")
    df = raw[list(REQUIRED)].copy()
    if df[["user_id", "item_id", "event_type", "event_at"]].isna().any().any():
        raise InvalidInteractions("user_id, item_id, event_type and event_at must all be set on every row")
    df["user_id"] = df["user_id"].astype(str)
    df["item_id"] = df["item_id"].astype(str)
    df["event_type"] = df["event_type"].astype(str).str.lower()
    unknown = sorted(set(df["event_type"].unique().tolist()) - set(EVENT_WEIGHTS))
    if unknown:
        raise InvalidInteractions(f"unknown event_type(s) {unknown}; expected one of {list(EVENT_WEIGHTS)}")
    at = _utc_naive(df["event_at"])
    if at.isna().any():
        bad = df.loc[at.isna(), "event_at"].iloc[0]
        raise InvalidInteractions(f"event_at is not a timestamp on {int(at.isna().sum())} row(s), e.g. {bad!r}")
    df["event_at"] = at
    # by position in the known types: a dict map walks a million Arrow strings one by one
    weights = np.array(list(EVENT_WEIGHTS.values()), dtype=float)
    df["weight"] = weights[pd.Index(list(EVENT_WEIGHTS)).get_indexer(df["event_type"])]
    return df.sort_values(["user_id", "event_at", "item_id"], kind="stable").reset_index(drop=True)


def item_features(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per item (`item_id` + whichever of ITEM_FEATURES the frame has); empty when it has none."""
    cols = [c for c in ITEM_FEATURES if c in raw.columns]
    if "item_id" not in raw.columns or not cols:
        return pd.DataFrame(columns=["item_id"])
    items = raw[["item_id", *cols]].copy()
    items["item_id"] = items["item_id"].astype(str)
    items = items.drop_duplicates("item_id", keep="last")
    if "price" in items:
        items["price"] = pd.to_numeric(items["price"], errors="coerce")
    if "created_at" in items:
        items["created_at"] = _utc_naive(items["created_at"])
    for col in ("category", "subcategory"):
        if col in items:
            items[col] = items[col].astype("string").fillna("UNKNOWN").astype(str)
    return items.reset_index(drop=True)


def read_table_file(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise InvalidInteractions(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() in (".csv", ".txt") or path.name.lower().endswith(".csv.gz"):
        return pd.read_csv(path)
    raise InvalidInteractions(f"{path}: expected a .parquet or .csv file")


def from_marts(interactions: pd.DataFrame, offers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The warehouse marts in the pipeline's shape: (interactions, item features)."""
    log = interactions.rename(columns={"offer_id": "item_id"})
    items = offers.rename(
        columns={
            "offer_id": "item_id",
            "offer_category_id": "category",
            "offer_subcategory_id": "subcategory",
            "stock_price": "price",
            "offer_created_at": "created_at",
        }
    )
    return normalise(log), item_features(items)
