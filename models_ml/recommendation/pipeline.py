"""The training and offline evaluation protocol (ML.md 3.2), for the marts or any interaction log.

Per-user chronological split of each user's interactions: the first 60 % (`fit`), the next 20 %
(`label`), the last 20 % (`test`); users with fewer than MIN_EVENTS interactions stay whole in `fit`.

- Evaluation, leakage-safe and two-stage: retrieval fitted on `fit` proposes candidates, labelled by
  what each user did in `label`, to train the ranker; retrieval refitted on `fit + label` proposes
  candidates that this ranker orders, judged on the items of `test` the user had not touched before
  (items unknown to the catalogue at that point are left out, as the reference does).
- Baselines judged on exactly the same users and masks: random, all-time popularity, recent
  popularity (last TREND_DAYS before the cutoff), co-occurrence alone, latent factors alone.
- Serving: the ranker is retrained with `fit + label` as history and `test` as labels, and
  retrieval refitted on everything.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from catboost import CatBoostRanker

from . import ranking, retrieval
from .metrics import evaluate_lists
from .retrieval import Retrieval

SPLIT = (0.6, 0.8)
MIN_EVENTS = 5
LIST_SIZE = 60  # the service's playlist length (the reference's NUMBER_OF_RECOMMENDATIONS)
METHODS = (
    "ranker",
    "ranker_diversified",
    "cooccurrence",
    "latent_factors",
    "recent_popularity",
    "popularity",
    "random",
)


@dataclass
class Params:
    iterations: int = 150
    seed: int = 0
    thread_count: int = 2
    refit_ranker: bool = True  # retrain the served ranker on fit + label -> test (False: serve the evaluated one)


@dataclass
class Trained:
    retrieval: Retrieval
    ranker: CatBoostRanker
    metrics: dict
    lists: dict  # method -> {user index: ranked item indices} on the evaluation stage, for the report
    evaluation_retrieval: Retrieval


def split(interactions: pd.DataFrame) -> pd.Series:
    """'fit' / 'label' / 'test' for each row of a user-then-time-ordered log (data.normalise's order)."""
    df = interactions
    pos = df.groupby("user_id", sort=False).cumcount().to_numpy()
    n = df.groupby("user_id", sort=False)["user_id"].transform("size").to_numpy()
    fit_end = np.maximum(np.floor(n * SPLIT[0]), 1)
    label_end = np.floor(n * SPLIT[1])
    part = np.where(pos < fit_end, "fit", np.where(pos < label_end, "label", "test"))
    part[n < MIN_EVENTS] = "fit"
    return pd.Series(part, index=df.index, name="part")


def _targets(r: Retrieval, later: pd.DataFrame) -> dict[int, dict[int, float]]:
    """user index -> {item index: strongest weight} of the later items each user had not touched before."""
    out: dict[int, dict[int, float]] = {}
    known = later[later["user_id"].isin(r.user_index) & later["item_id"].isin(r.item_index)]
    strongest = known.groupby(["user_id", "item_id"], sort=False)["weight"].max()
    for (user, item), w in strongest.items():
        u, i = r.user_index[user], r.item_index[item]
        if r.history[u, i] == 0:
            out.setdefault(u, {})[i] = float(w)
    return out


def _candidate_frames(r: Retrieval, users: list[int]) -> tuple[list[ranking.Candidates], list[pd.DataFrame]]:
    cands, frames = [], []
    for u in users:
        allowed = np.ones(len(r.item_ids), dtype=bool)
        allowed[r.seen(u)] = False
        c = ranking.candidates(r, ranking.source_scores(r, u), allowed)
        cands.append(c)
        frames.append(ranking.features(r, u, c))
    return cands, frames


def fit_ranker(
    history: pd.DataFrame, later: pd.DataFrame, items: pd.DataFrame | None, params: Params
) -> tuple[CatBoostRanker, Retrieval]:
    r = retrieval.fit(history, items, seed=params.seed)
    targets = _targets(r, later)
    users = sorted(targets)
    cands, frames = _candidate_frames(r, users)
    labels = [np.array([targets[u].get(i, 0.0) for i in c.items.tolist()]) for u, c in zip(users, cands, strict=True)]
    model = ranking.train_ranker(
        frames, labels, iterations=params.iterations, seed=params.seed, thread_count=params.thread_count
    )
    return model, r


def _ordered(primary: np.ndarray, secondary: np.ndarray, allowed: np.ndarray, n: int) -> np.ndarray:
    idx = np.flatnonzero(allowed)
    order = np.lexsort((-secondary[idx], -primary[idx]))
    return idx[order[:n]]


def baseline_lists(r: Retrieval, users: list[int], n: int, seed: int) -> dict[str, dict[int, np.ndarray]]:
    rng = np.random.default_rng(seed)
    lists: dict[str, dict[int, np.ndarray]] = {m: {} for m in METHODS if not m.startswith("ranker")}
    pop = r.popularity
    for u in users:
        allowed = np.ones(len(r.item_ids), dtype=bool)
        allowed[r.seen(u)] = False
        idx = np.flatnonzero(allowed)
        lists["random"][u] = rng.permutation(idx)[:n]
        lists["popularity"][u] = _ordered(pop, np.zeros_like(pop), allowed, n)
        lists["recent_popularity"][u] = _ordered(r.trend, pop, allowed, n)
        lists["cooccurrence"][u] = _ordered(r.cooc_scores(u), pop, allowed, n)
        lists["latent_factors"][u] = _ordered(r.svd_scores(u), pop, allowed, n)
    return lists


def ranker_lists(
    model: CatBoostRanker, r: Retrieval, users: list[int], n: int, thread_count: int
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    cands, frames = _candidate_frames(r, users)
    sizes = [len(f) for f in frames]
    scores = (
        ranking.predict(model, pd.concat(frames, ignore_index=True), thread_count=thread_count)
        if frames
        else np.array([])
    )
    ranked, diversified = {}, {}
    start = 0
    for u, c, size in zip(users, cands, sizes, strict=True):
        s = np.asarray(scores[start : start + size])
        start += size
        order = c.items[np.argsort(-s, kind="stable")]
        ranked[u] = order[:n]
        diversified[u] = ranking.diversify(order, r.category[order], n)
    return ranked, diversified


def evaluate(interactions: pd.DataFrame, items: pd.DataFrame | None = None, params: Params | None = None) -> Trained:
    """Train and evaluate the whole pipeline and its baselines; returns the serving model too."""
    params = params or Params()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    part = split(interactions)
    fit_df = interactions[part == "fit"]
    label_df = interactions[part == "label"]
    test_df = interactions[part == "test"]
    seen_df = interactions[part != "test"]

    t = time.perf_counter()
    ranker_a, _ = fit_ranker(fit_df, label_df, items, params)
    timings["ranker_fit_s"] = time.perf_counter() - t

    t = time.perf_counter()
    r_eval = retrieval.fit(seen_df, items, seed=params.seed)
    timings["retrieval_fit_s"] = time.perf_counter() - t
    targets = _targets(r_eval, test_df)
    users = sorted(targets)
    truth = {u: set(targets[u]) for u in users}
    n = max(LIST_SIZE, 50)
    lists = baseline_lists(r_eval, users, n, params.seed)
    t = time.perf_counter()
    lists["ranker"], lists["ranker_diversified"] = ranker_lists(ranker_a, r_eval, users, n, params.thread_count)
    timings["ranker_predict_s"] = time.perf_counter() - t
    results = {
        m: evaluate_lists(lists[m], truth, r_eval.popularity, len(r_eval.user_ids), len(r_eval.item_ids))
        for m in METHODS
    }

    t = time.perf_counter()
    ranker_final = fit_ranker(seen_df, test_df, items, params)[0] if params.refit_ranker else ranker_a
    served = retrieval.fit(interactions, items, seed=params.seed)
    timings["final_fit_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started
    metrics = {
        "protocol": {
            "split": "per-user chronological: first 60 % retrieval history, next 20 % ranker labels, last 20 % test",
            "min_events_per_user": MIN_EVENTS,
            "relevance": "binary: an item the user clicked, favourited or booked in the test part, unseen before",
            "candidates_per_user": f"top {ranking.PERSONAL_N} co-occurrence + top {ranking.PERSONAL_N} latent "
            f"factors + top {ranking.POPULAR_N} each of popularity, trend and "
            "popularity when the user was last active, "
            "seen items masked",
        },
        "data": {
            "interactions": len(interactions),
            "users": int(interactions["user_id"].nunique()),
            "items": len(served.item_ids),
            "item_features": sorted(c for c in (items.columns if items is not None else []) if c != "item_id"),
            "evaluated_users": len(users),
            "test_items": int(sum(len(v) for v in truth.values())),
            "window": {"from": str(interactions["event_at"].min()), "to": str(interactions["event_at"].max())},
            "fingerprint": fingerprint(interactions),
        },
        "models": results,
        "ranker": {
            "iterations": params.iterations,
            "feature_importance": dict(
                sorted(
                    zip(
                        ranking.FEATURES,
                        map(float, ranker_a.get_feature_importance(type="PredictionValuesChange")),
                        strict=True,
                    ),
                    key=lambda kv: -kv[1],
                )
            ),
        },
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }
    return Trained(served, ranker_final, metrics, lists, r_eval)


def fingerprint(interactions: pd.DataFrame) -> str:
    cols = interactions[["user_id", "item_id", "event_type", "event_at"]]
    return hashlib.sha256(pd.util.hash_pandas_object(cols, index=False).values.tobytes()).hexdigest()
