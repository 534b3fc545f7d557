"""Candidates from every retrieval source, their ranker features, the CatBoost ranker and diversification.

One code path for training, offline evaluation and the service: `candidates()` takes a mask of the
items a request allows (bookable, price, distance...) so filters apply before the top-n cut, and
`features()` builds the same matrix the ranker was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from catboost import CatBoostRanker, Pool

from .retrieval import BOOKING_WINDOWS, Retrieval

SOURCES = ("cooc", "svd", "popularity", "trend", "era")  # era: popular when the user was last active
PERSONAL_N, POPULAR_N = 50, 25  # per source: personalised sources get twice the room of the popular ones
NUM_FEATURES = [
    *(f"{s}_score" for s in SOURCES),
    *(f"{s}_rank" for s in SOURCES),
    "user_idle_days",
    "user_interactions",
    "user_items",
    "user_bookings",
    "user_category_share",
    "user_subcategory_share",
    "item_price",
    "item_age_days",
    *(f"item_bookings_last_{d}_days" for d in BOOKING_WINDOWS),
]
CAT_FEATURES = ["item_category", "item_subcategory"]
FEATURES = NUM_FEATURES + CAT_FEATURES


@dataclass
class Candidates:
    items: np.ndarray  # item indices
    scores: dict[str, np.ndarray]  # source -> score of each candidate
    origin: np.ndarray  # str: the source that ranked it best (for the served-list log)


def _top(scores: np.ndarray, allowed: np.ndarray, n: int) -> np.ndarray:
    idx = np.flatnonzero(allowed & (scores > 0))
    if len(idx) > n:
        idx = idx[np.argpartition(-scores[idx], n)[:n]]
    return idx[np.argsort(-scores[idx], kind="stable")]


def source_scores(r: Retrieval, u: int | None, history_items: list[int] | None = None) -> dict[str, np.ndarray]:
    """Every source's score over the catalogue; personalised sources are zero for an unknown user."""
    n = len(r.item_ids)
    if u is not None:
        cooc, svd = r.cooc_scores(u), r.svd_scores(u)
    elif history_items:
        cooc, svd = r.cooc_scores_from(history_items), np.zeros(n, np.float32)
    else:
        cooc = svd = np.zeros(n, np.float32)
    return {
        "cooc": cooc,
        "svd": svd,
        "popularity": r.popularity_score,
        "trend": r.trend_score,
        "era": r.popularity_at(u) + r.tie + 1e-6,
    }


def candidates(r: Retrieval, scores: dict[str, np.ndarray], allowed: np.ndarray, personal: bool = True) -> Candidates:
    picked: list[np.ndarray] = []
    origin: dict[int, str] = {}
    for source in SOURCES:
        if source in ("cooc", "svd") and not personal:
            continue
        top = _top(scores[source], allowed, PERSONAL_N if source in ("cooc", "svd") else POPULAR_N)
        for i in top.tolist():
            origin.setdefault(i, source)
        picked.append(top)
    items = np.unique(np.concatenate(picked)) if picked else np.array([], dtype=int)
    return Candidates(
        items=items,
        scores={s: scores[s][items] for s in SOURCES},
        origin=np.array([origin[i] for i in items.tolist()], dtype=object),
    )


def _rank_within(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float32)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


def features(r: Retrieval, u: int | None, cand: Candidates) -> pd.DataFrame:
    """The ranker's features for one user's candidates (unknown user: the user columns are zero)."""
    items = cand.items
    cols: dict[str, np.ndarray] = {}
    for s in SOURCES:
        cols[f"{s}_score"] = cand.scores[s].astype(np.float32)
    for s in SOURCES:
        cols[f"{s}_rank"] = _rank_within(cand.scores[s])
    n = len(items)
    cols["user_idle_days"] = np.full(n, r.user_idle_days[u] if u is not None else 0.0, np.float32)
    if u is not None:
        row = r.history[u]
        seen = r.seen(u)
        cols["user_interactions"] = np.full(n, row.sum(), np.float32)
        cols["user_items"] = np.full(n, len(seen), np.float32)
        cols["user_bookings"] = np.full(n, float((row.data >= 3).sum()), np.float32)
        cols["user_category_share"] = r.user_category[u][r.category_code[items]]
        sub_seen = r.subcategory[seen]
        weights = row.data
        total = float(weights.sum()) or 1.0
        share = {s: float(weights[sub_seen == s].sum()) / total for s in set(sub_seen.tolist())}
        cols["user_subcategory_share"] = np.array([share.get(s, 0.0) for s in r.subcategory[items]], np.float32)
    else:
        for c in ("user_interactions", "user_items", "user_bookings", "user_category_share", "user_subcategory_share"):
            cols[c] = np.zeros(n, np.float32)
    cols["item_price"] = r.price[items]
    cols["item_age_days"] = r.age_days[items]
    for d in BOOKING_WINDOWS:
        cols[f"item_bookings_last_{d}_days"] = r.bookings_last[d][items]
    frame = pd.DataFrame(cols)
    frame["item_category"] = r.category[items].astype(str)
    frame["item_subcategory"] = r.subcategory[items].astype(str)
    return frame[FEATURES]


RANKER_PARAMS = {"loss_function": "YetiRank", "learning_rate": 0.08, "depth": 4}


def train_ranker(
    frames: list[pd.DataFrame],
    labels: list[np.ndarray],
    iterations: int = 150,
    seed: int = 0,
    thread_count: int = 2,
    max_negatives: int | None = 40,
    **params,
) -> CatBoostRanker:
    """YetiRank on groups of one user's candidates, graded labels (0 none, 1 click, 2 favourite, 3 booking).

    Groups without a single relevant candidate teach nothing pairwise and are left out; group ids are
    contiguous by construction (CatBoost requires it).
    """
    keep = [i for i, y in enumerate(labels) if (y > 0).any() and (y == 0).any()]
    if not keep:
        raise ValueError("no user has both a relevant and an irrelevant candidate: nothing to rank")
    # every relevant candidate and a sample of the others: the pairs that teach, at a fraction of the rows
    rng = np.random.default_rng(seed)
    rows = []
    for i in keep:
        negatives = np.flatnonzero(labels[i] == 0)
        if max_negatives is not None and len(negatives) > max_negatives:
            negatives = np.sort(rng.choice(negatives, max_negatives, replace=False))
        rows.append(np.sort(np.concatenate([np.flatnonzero(labels[i] > 0), negatives])))
    x = pd.concat([frames[i].iloc[r] for i, r in zip(keep, rows, strict=True)], ignore_index=True)
    y = np.concatenate([labels[i][r] for i, r in zip(keep, rows, strict=True)])
    group = np.concatenate([np.full(len(r), g) for g, r in enumerate(rows)])
    model = CatBoostRanker(
        **{**RANKER_PARAMS, **params},
        iterations=iterations,
        random_seed=seed,
        thread_count=thread_count,
        allow_writing_files=False,
        verbose=False,
    )
    model.fit(Pool(x, label=y, group_id=group, cat_features=CAT_FEATURES))
    return model


def predict(model: CatBoostRanker, frame: pd.DataFrame, thread_count: int = 1) -> np.ndarray:
    if frame.empty:
        return np.array([], dtype=float)
    return np.asarray(model.predict(Pool(frame, cat_features=CAT_FEATURES), thread_count=thread_count), dtype=float)


def diversify(order: np.ndarray, groups: np.ndarray, n: int, window: int = 3) -> np.ndarray:
    """Round-robin over groups (category) in the top `window * n` of a ranked list, cut to n.

    `order` is ranked best first and `groups[i]` the group of `order[i]`. Groups take turns in the
    order of their best item, so the best item still comes first and no category fills the list.
    """
    head = order[: window * n]
    head_groups = groups[: window * n]
    queues: dict[object, list] = {}
    for item, g in zip(head.tolist(), head_groups.tolist(), strict=True):
        queues.setdefault(g, []).append(item)
    out: list = []
    while len(out) < n and queues:
        for g in list(queues):
            out.append(queues[g].pop(0))
            if not queues[g]:
                del queues[g]
            if len(out) == n:
                break
    return np.array(out, dtype=order.dtype)
