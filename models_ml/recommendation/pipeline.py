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

import dataclasses
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from catboost import CatBoostRanker
from threadpoolctl import threadpool_limits

from . import ranking, retrieval
from .metrics import evaluate_lists
from .retrieval import Retrieval, lookup_sorted, positions_in

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
# users x catalogue cells scored at once: each personal source is a dense float32 array of that size,
# so a batch holds a few hundred MB at most whatever the catalogue, and numpy works on whole batches.
# Not fewer: each batch reads all the item factors (123 MB at 641k offers); with 4M cells (6 users a
# batch at that size) a user's candidates and features take 8 ms, with 16M 3.5 ms (scale 200, one thread).
# The cost is a constant: a scale-1 training peaks at 0.58 GiB against 0.45 GiB with 4M cells
BATCH_CELLS = 16_000_000


@dataclass
class Params:
    iterations: int = 150
    seed: int = 0
    thread_count: int = 2
    refit_ranker: bool = True  # retrain the served ranker on fit + label -> test (False: serve the evaluated one)
    # seeded samples that bound memory and time whatever the number of users (0: everyone). The reference
    # evaluates on 5k users outside production (50k in production) and caps its ranker's rows per class.
    eval_users: int = 5_000
    ranker_users: int = 10_000  # users whose candidates train each ranker (about 40 rows each)
    max_negatives: int = 40  # irrelevant candidates kept per user for the ranker
    # numpy/scipy BLAS threads while training: its products are many and small, and OpenBLAS's spinning
    # threads cost more than they give on a busy box (a 100k x 58 Gram: 0.02 s on one thread, 1 s on two)
    blas_threads: int = 1


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


def sample_users(users: np.ndarray, size: int, seed: int, stream: int) -> np.ndarray:
    """At most `size` of `users` (sorted), drawn with a generator of its own per purpose (`stream`)."""
    if size <= 0 or len(users) <= size:
        return users
    return np.sort(np.random.default_rng([seed, stream]).choice(users, size, replace=False))


def _targets(r: Retrieval, later: pd.DataFrame) -> pd.DataFrame:
    """(u, i, weight) sorted: the strongest weight of each later item a user had not touched before."""
    u, i = positions_in(later["user_id"], r.user_ids), positions_in(later["item_id"], r.item_ids)
    known = (u >= 0) & (i >= 0)
    pairs = pd.DataFrame({"u": u[known], "i": i[known], "weight": later["weight"].to_numpy(float)[known]})
    strongest = pairs.groupby(["u", "i"], sort=True)["weight"].max().reset_index()
    if strongest.empty:
        return strongest
    touched = np.asarray(r.history[strongest["u"].to_numpy(), strongest["i"].to_numpy()]).ravel() != 0
    return strongest[~touched].reset_index(drop=True)


def _labels(targets: pd.DataFrame, n_items: int, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """The target weight of each (user, item) candidate, 0 for an item the user did not touch later."""
    keys = targets["u"].to_numpy(np.int64) * n_items + targets["i"].to_numpy(np.int64)
    asked = users.astype(np.int64) * n_items + items
    pos = lookup_sorted(keys, asked)
    labels = np.zeros(len(asked))
    labels[pos >= 0] = targets["weight"].to_numpy(float)[pos[pos >= 0]]
    return labels


def _batches(r: Retrieval, users: np.ndarray) -> Iterator[np.ndarray]:
    size = max(1, BATCH_CELLS // max(len(r.item_ids), 1))
    for start in range(0, len(users), size):
        yield users[start : start + size]


def _unseen(r: Retrieval, users: np.ndarray) -> np.ndarray:
    """users x catalogue: True where the user has not interacted with the item (what a list may show)."""
    allowed = np.ones((len(users), len(r.item_ids)), dtype=bool)
    h = r.history[users]
    allowed[np.repeat(np.arange(len(users)), np.diff(h.indptr)), h.indices] = False
    return allowed


def _batch_candidates(r: Retrieval, users: np.ndarray) -> Iterator[tuple[np.ndarray, ranking.Candidates]]:
    """Each batch of users with the candidates of all of them (seen items masked), as the service builds one."""
    for batch in _batches(r, users):
        yield batch, ranking.candidates(r, ranking.batch_scores(r, batch), _unseen(r, batch))


def fit_ranker(
    history: pd.DataFrame,
    later: pd.DataFrame,
    items: pd.DataFrame | None,
    params: Params,
    fitted: Retrieval | None = None,
) -> tuple[CatBoostRanker, dict]:
    """Retrieval fitted on `history` proposes candidates, labelled by `later`, for a seeded sample of the
    users who did something new later; returns the ranker and what it was trained on, not the retrieval:
    kept by the caller, the first ranker's (about 1 GB at scale 200) stayed alive through the evaluation.
    `fitted`: that retrieval when the caller already has it (fitted on `history`, `items` and the seed)."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    r = fitted if fitted is not None else retrieval.fit(history, items, seed=params.seed)
    timings["retrieval_s"] = time.perf_counter() - t
    t = time.perf_counter()
    targets = _targets(r, later)
    eligible = np.unique(targets["u"].to_numpy())
    users = sample_users(eligible, params.ranker_users, params.seed, stream=1)
    rng = np.random.default_rng(params.seed)
    xs, ys, groups = [], [], []
    n_groups = 0
    for batch, cand in _batch_candidates(r, users):
        labels = _labels(targets, len(r.item_ids), batch[cand.rows], cand.items)
        keep, group = ranking.training_rows(cand.rows, labels, len(batch), rng, params.max_negatives)
        if not len(keep):
            continue
        frame = ranking.batch_features(r, batch, cand)
        xs.append(frame.iloc[keep])
        ys.append(labels[keep])
        groups.append(group + n_groups)
        n_groups = int(groups[-1].max()) + 1
    timings["candidates_s"] = time.perf_counter() - t
    if not xs:
        raise ValueError("no user has both a relevant and an irrelevant candidate: nothing to rank")
    t = time.perf_counter()
    x = pd.concat(xs, ignore_index=True)
    y = np.concatenate(ys)
    model = ranking.fit_ranker(
        x, y, np.concatenate(groups), iterations=params.iterations, seed=params.seed, thread_count=params.thread_count
    )
    timings["catboost_s"] = time.perf_counter() - t
    trained_on = {"eligible_users": len(eligible), "users": len(users), "groups": n_groups, "rows": len(y)}
    return model, {**trained_on, "timings": timings}


def baseline_lists(r: Retrieval, users: np.ndarray, n: int, seed: int) -> dict[str, dict[int, np.ndarray]]:
    """Each baseline's list per user: unseen items by the method's score, then all-time popularity, then index."""
    rng = np.random.default_rng(seed)
    lists: dict[str, dict[int, np.ndarray]] = {m: {} for m in METHODS if not m.startswith("ranker")}
    pop = r.popularity
    by_popularity = np.empty(len(pop), dtype=np.int64)  # tie-break: the more popular first, then the index
    by_popularity[r.order("baseline_popularity", pop)] = np.arange(len(pop))
    recent = np.lexsort((by_popularity, -r.trend))
    for batch in _batches(r, users):
        allowed = _unseen(r, batch)
        scores = ranking.batch_scores(r, batch)
        ordered = {
            "popularity": ranking.top_n(pop, allowed, n, order=r.order("baseline_popularity", pop)),
            "recent_popularity": ranking.top_n(r.trend, allowed, n, order=recent),
            "cooccurrence": _then_popular(scores["cooc"], r, allowed, n, by_popularity),
            "latent_factors": ranking.top_n(scores["svd"], allowed, n, by_popularity),
        }
        seen = allowed.shape[1] - allowed.sum(axis=1)
        for j, u in enumerate(batch.tolist()):
            # n unseen items drawn uniformly: n + seen distinct items, the seen ones dropped (numpy draws a
            # few from a large catalogue without shuffling it all; a permutation per user was 12 ms at 641k)
            drawn = rng.choice(allowed.shape[1], size=min(allowed.shape[1], n + int(seen[j])), replace=False)
            lists["random"][u] = drawn[allowed[j, drawn]][:n]
            for method, top in ordered.items():
                lists[method][u] = top[j][top[j] >= 0]
    return lists


def _then_popular(
    cooc: sp.csr_matrix, r: Retrieval, allowed: np.ndarray, n: int, by_popularity: np.ndarray
) -> np.ndarray:
    """Co-occurrence then popularity: the positive co-occurrence scores first (sparse), then the unscored
    allowed items by popularity; the same order as ranking every item by (score, popularity, index)."""
    scored = ranking.top_n(cooc, allowed, n, by_popularity, positive=True)
    rest = allowed.copy()
    rows = np.repeat(np.arange(cooc.shape[0]), np.diff(cooc.indptr))
    rest[rows[cooc.data > 0], cooc.indices[cooc.data > 0]] = False
    fill = ranking.top_n(r.popularity, rest, n, order=r.order("baseline_popularity", r.popularity))
    out = scored.copy()
    for j in range(len(out)):
        have = int((scored[j] >= 0).sum())
        out[j, have:] = fill[j, : n - have]
    return out


def ranker_lists(
    model: CatBoostRanker, r: Retrieval, users: np.ndarray, n: int, thread_count: int
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    ranked, diversified = {}, {}
    for batch, cand in _batch_candidates(r, users):
        scores = ranking.predict(model, ranking.batch_features(r, batch, cand), thread_count=thread_count)
        bounds = np.searchsorted(cand.rows, np.arange(len(batch) + 1))
        for j, u in enumerate(batch.tolist()):
            items, s = cand.items[bounds[j] : bounds[j + 1]], scores[bounds[j] : bounds[j + 1]]
            order = items[np.argsort(-s, kind="stable")]
            ranked[u] = order[:n].copy()
            diversified[u] = ranking.diversify(order, r.category[order], n)
    return ranked, diversified


def evaluate(interactions: pd.DataFrame, items: pd.DataFrame | None = None, params: Params | None = None) -> Trained:
    """Train and evaluate the whole pipeline and its baselines; returns the serving model too."""
    params = params or Params()
    with threadpool_limits(limits=params.blas_threads, user_api="blas"):
        return _evaluate(interactions, items, params)


def _evaluate(interactions: pd.DataFrame, items: pd.DataFrame | None, params: Params) -> Trained:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    part = split(interactions).to_numpy()
    timings["split_s"] = time.perf_counter() - started

    def rows(*parts: str) -> pd.DataFrame:  # taken when needed and dropped after: each is a copy of the log
        return interactions[np.isin(part, parts)]

    t = time.perf_counter()
    ranker_a, evaluated_ranker = fit_ranker(rows("fit"), rows("label"), items, params)
    timings["ranker_fit_s"] = time.perf_counter() - t

    t = time.perf_counter()
    r_eval = retrieval.fit(rows("fit", "label"), items, seed=params.seed)
    timings["retrieval_fit_s"] = time.perf_counter() - t
    targets = _targets(r_eval, rows("test"))
    eligible = np.unique(targets["u"].to_numpy())
    users = sample_users(eligible, params.eval_users, params.seed, stream=2)
    held_out = targets[targets["u"].isin(users)]
    truth = {int(u): set(g.tolist()) for u, g in held_out.groupby("u")["i"]}
    n = max(LIST_SIZE, 50)
    t = time.perf_counter()
    lists = baseline_lists(r_eval, users, n, params.seed)
    timings["baselines_s"] = time.perf_counter() - t
    t = time.perf_counter()
    lists["ranker"], lists["ranker_diversified"] = ranker_lists(ranker_a, r_eval, users, n, params.thread_count)
    timings["ranker_predict_s"] = time.perf_counter() - t
    t = time.perf_counter()
    results = {
        m: evaluate_lists(lists[m], truth, r_eval.popularity, len(r_eval.user_ids), len(r_eval.item_ids))
        for m in METHODS
    }
    timings["metrics_s"] = time.perf_counter() - t

    t = time.perf_counter()
    served_ranker = None
    if params.refit_ranker:
        # its history is the evaluation's (fit + label): r_eval is that retrieval, not fitted again
        ranker_final, served_ranker = fit_ranker(rows("fit", "label"), rows("test"), items, params, r_eval)
    else:
        ranker_final = ranker_a
    timings["final_ranker_s"] = time.perf_counter() - t
    t = time.perf_counter()
    served = retrieval.fit(interactions, items, seed=params.seed)
    timings["final_retrieval_s"] = time.perf_counter() - t
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
            "sampling": f"seeded samples: at most {params.eval_users or 'all'} evaluated users, at most "
            f"{params.ranker_users or 'all'} users (up to {params.max_negatives} irrelevant candidates each) "
            "per ranker",
        },
        "params": dataclasses.asdict(params),
        "data": {
            "interactions": len(interactions),
            "users": int(interactions["user_id"].nunique()),
            "items": len(served.item_ids),
            "item_features": sorted(c for c in (items.columns if items is not None else []) if c != "item_id"),
            "evaluated_users": len(users),
            "evaluable_users": len(eligible),
            "test_items": int(sum(len(v) for v in truth.values())),
            "window": {"from": str(interactions["event_at"].min()), "to": str(interactions["event_at"].max())},
            "fingerprint": fingerprint(interactions),
        },
        "models": results,
        "ranker": {
            "iterations": params.iterations,
            "evaluated": _trained_on(evaluated_ranker),
            "served": _trained_on(served_ranker or evaluated_ranker),
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
        "timings": {k: round(v, 2) for k, v in timings.items()}
        | {f"ranker_{k}": round(v, 2) for k, v in evaluated_ranker["timings"].items()},
    }
    return Trained(served, ranker_final, metrics, lists, r_eval)


def _trained_on(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if k != "timings"}


def fingerprint(interactions: pd.DataFrame) -> str:
    cols = interactions[["user_id", "item_id", "event_type", "event_at"]]
    return hashlib.sha256(pd.util.hash_pandas_object(cols, index=False).values.tobytes()).hexdigest()
