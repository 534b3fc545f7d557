"""Candidates from every retrieval source, their ranker features, the CatBoost ranker and diversification.

One code path for training, offline evaluation and the service: `candidates()` takes a mask of the
items a request allows (bookable, price, distance...) so filters apply before the top-n cut, and
`features()` builds the same matrix the ranker was trained on.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from catboost import CatBoostRanker, Pool

from .retrieval import BOOKING_WINDOWS, TREND_DAYS, Retrieval

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
    """The candidates of one request, or of a batch of users (`row`: the batch position of each candidate).

    Ordered by row, then item index."""

    items: np.ndarray  # item indices
    scores: dict[str, np.ndarray]  # source -> score of each candidate
    origin: np.ndarray  # str: the source that ranked it best (for the served-list log)
    row: np.ndarray | None = None  # None: every candidate belongs to the one user asked about

    @property
    def rows(self) -> np.ndarray:
        return self.row if self.row is not None else np.zeros(len(self.items), dtype=np.int64)


def top_n(
    scores: np.ndarray | sp.csr_matrix,
    allowed: np.ndarray,
    n: int,
    tiebreak: np.ndarray | None = None,
    positive: bool = False,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Per row of `allowed` (rows x items), the n best allowed items, best first, -1 where a row has fewer.

    `scores`: rows x items (dense, or sparse when only positive scores count), or one catalogue-long
    vector every row shares. The order is total: score descending, then `tiebreak` ascending (default:
    the item index), so a batch of users and one user alone get the same lists. `positive`: only
    scores above zero. `order`: a shared vector's items already in that order (Retrieval.order).
    """
    allowed = np.atleast_2d(allowed)
    if sp.issparse(scores):
        if not positive:
            raise ValueError("sparse scores: only their positive entries can rank")
        return _top_sparse(sp.csr_matrix(scores), allowed, n, tiebreak)
    if scores.ndim == 1 and (allowed.shape[0] > 1 or order is not None):
        if order is None:
            order = np.lexsort((np.arange(len(scores)) if tiebreak is None else tiebreak, -scores))
        return _top_shared(scores, allowed, n, order, positive)
    return _top_dense(np.broadcast_to(scores, allowed.shape), allowed, n, tiebreak, positive)


def _placed(rows: int, n: int, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """rows x n: the columns `c` of each row `r` (already in rank order, rows ascending), cut to n, -1 padded."""
    out = np.full((rows, n), -1, dtype=np.int64)
    pos = np.arange(len(r)) - np.searchsorted(r, r)
    keep = pos < n
    out[r[keep], pos[keep]] = c[keep]
    return out


def _top_dense(
    scores: np.ndarray, allowed: np.ndarray, n: int, tiebreak: np.ndarray | None, positive: bool
) -> np.ndarray:
    """Per row, a threshold that at least n allowed items reach: the n-th best of a strided sample of the
    row's allowed items. Only what reaches it (a few thousand items a row, not the catalogue) is sorted,
    and the n best are among them, ties included, so the lists are exact."""
    rows, m = scores.shape
    k = min(n, m)
    if k == 0 or rows == 0:
        return np.full((rows, n), -1, dtype=np.int64)
    rank = np.arange(m) if tiebreak is None else tiebreak
    step = max(1, int(np.sqrt(m / k) / 4))  # sample 4 sqrt(k m) a row; about a sixteenth of that reaches its cut
    sample = np.where(allowed[:, ::step], scores[:, ::step], -np.inf)
    reached = np.full(rows, -np.inf)
    if sample.shape[1] >= k:  # a row with fewer than k allowed in its sample keeps -inf: all its allowed items
        reached = np.partition(sample, sample.shape[1] - k, axis=1)[:, sample.shape[1] - k]
    if positive:  # only scores above zero: a row whose sample is all zeros sorts nothing
        reached = np.maximum(reached, np.nextafter(0, 1, dtype=scores.dtype))
    # flat: a 1-D nonzero is an order of magnitude faster than a 2-D one on a batch of catalogue rows
    r, c = np.divmod(np.flatnonzero((scores >= reached[:, None].astype(scores.dtype)) & allowed), m)
    order = np.lexsort((rank[c], -scores[r, c], r))
    return _placed(rows, n, r[order], c[order])


def _top_shared(scores: np.ndarray, allowed: np.ndarray, n: int, order: np.ndarray, positive: bool) -> np.ndarray:
    """One score vector for every row: walk its global order, widening the prefix until every row has n
    allowed items in it (each row only drops its own few exclusions), instead of a catalogue per row."""
    rows = allowed.shape[0]
    if positive:  # best first, so the positive scores are a prefix: bisected, not a catalogue-long mask per call
        order = order[: bisect.bisect_left(range(len(order)), True, key=lambda j: not scores[order[j]] > 0)]
    width = min(len(order), 2 * n)
    while True:
        ok = allowed[:, order[:width]]
        if width == len(order) or (ok.sum(axis=1) >= n).all():
            break
        width = min(len(order), 4 * width)
    r, c = np.nonzero(ok)
    return _placed(rows, n, r, order[:width][c])


def _top_sparse(scores: sp.csr_matrix, allowed: np.ndarray, n: int, tiebreak: np.ndarray | None) -> np.ndarray:
    """Only a sparse matrix's positive entries: a sort of its non-zeros, never a dense row."""
    rows, m = scores.shape
    rank = np.arange(m) if tiebreak is None else tiebreak
    r = np.repeat(np.arange(rows), np.diff(scores.indptr))
    c, v = scores.indices, scores.data
    keep = (v > 0) & allowed[r, c]
    r, c, v = r[keep], c[keep], v[keep]
    order = np.lexsort((rank[c], -v, r))
    return _placed(rows, n, r[order], c[order])


@dataclass
class ByGroup:
    """Scores shared by groups of rows: row j scores `vectors[group[j]]`, whose items sorted best first
    are `orders[group[j]]` (popularity and trend: one group; era: one per period)."""

    group: np.ndarray
    vectors: list[np.ndarray]  # per group, catalogue-long (a list: a batch never copies them into one array)
    orders: list[np.ndarray]

    def top(self, allowed: np.ndarray, n: int, positive: bool) -> np.ndarray:
        out = np.full((len(self.group), n), -1, dtype=np.int64)
        for g in np.unique(self.group):
            rows = np.flatnonzero(self.group == g)
            out[rows] = top_n(self.vectors[g], allowed[rows], n, positive=positive, order=self.orders[g])
        return out

    def at(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        out = np.empty(len(rows), dtype=np.result_type(*self.vectors))
        group = self.group[rows]
        for g in np.unique(group):
            mine = group == g
            out[mine] = self.vectors[g][items[mine]]
        return out


Scores = dict[str, np.ndarray | sp.csr_matrix | ByGroup]


def source_scores(r: Retrieval, u: int | None, history_items: list[int] | None = None) -> Scores:
    """Every source's score over the catalogue for one request; personalised sources are zero for an
    unknown user. Co-occurrence is sparse and the shared sources come with their sorted order (as in
    batch_scores), so a request sorts nothing catalogue-long but the latent factors' scores."""
    n = len(r.item_ids)
    cooc: np.ndarray | sp.csr_matrix
    if u is not None:
        cooc, svd = sp.csr_matrix(r.history[u] @ r.neighbours, dtype=np.float32), r.svd_scores(u)
    elif history_items:
        cooc, svd = r.cooc_scores_from(history_items), np.zeros(n, np.float32)
    else:
        cooc = svd = np.zeros(n, np.float32)
    return {"cooc": cooc, "svd": svd, **_shared_scores(r, np.array([-1 if u is None else u]))}


def batch_scores(r: Retrieval, users: np.ndarray) -> Scores:
    """source_scores for a batch of known users at once: co-occurrence sparse, latent factors dense
    (users x catalogue), era one vector per period, the others one shared vector."""
    return {
        "cooc": sp.csr_matrix(r.history[users] @ r.neighbours, dtype=np.float32),  # sparse: a few items per user
        "svd": r.user_factors[users] @ r.item_factors.T,
        **_shared_scores(r, users),
    }


def _shared_scores(r: Retrieval, users: np.ndarray) -> Scores:
    """Popularity and trend (one vector for everyone) and era (one per period of the users' last activity;
    period 0 for an unknown user, -1)."""
    idle = np.where(users >= 0, r.user_idle_days[np.maximum(users, 0)], 0.0)
    periods = np.minimum(idle // TREND_DAYS, r.period_popularity.shape[0] - 1).astype(np.int64)
    distinct, group = np.unique(periods, return_inverse=True)
    era = [r.era_score(p) for p in distinct.tolist()]
    everyone = np.zeros(len(users), dtype=np.int64)
    return {
        "popularity": ByGroup(everyone, [r.popularity_score], [r.order("popularity", r.popularity_score)]),
        "trend": ByGroup(everyone, [r.trend_score], [r.order("trend", r.trend_score)]),
        "era": ByGroup(group, era, [r.order(("era", p), v) for p, v in zip(distinct.tolist(), era, strict=True)]),
    }


def candidates(
    r: Retrieval, scores: Mapping[str, np.ndarray | sp.csr_matrix | ByGroup], allowed: np.ndarray, personal: bool = True
) -> Candidates:
    """The union of every source's top items among the allowed ones, for one user (1-D scores and mask)
    or a batch (rows x items; a source's 1-D scores are shared by every row)."""
    allowed = np.atleast_2d(allowed)
    batch = allowed.shape[0]
    picked_rows, picked_items, picked_source = [], [], []
    for si, source in enumerate(SOURCES):
        if source in ("cooc", "svd") and not personal:
            continue
        size = PERSONAL_N if source in ("cooc", "svd") else POPULAR_N
        score = scores[source]
        top = (
            score.top(allowed, size, True) if isinstance(score, ByGroup) else top_n(score, allowed, size, positive=True)
        )
        row, pos = np.nonzero(top >= 0)
        picked_rows.append(row)
        picked_items.append(top[row, pos])
        picked_source.append(np.full(len(row), si))
    rows = np.concatenate(picked_rows) if picked_rows else np.array([], dtype=np.int64)
    items = np.concatenate(picked_items) if picked_items else np.array([], dtype=np.int64)
    by_source = np.concatenate(picked_source) if picked_source else np.array([], dtype=np.int64)
    order = np.lexsort((by_source, items, rows))
    rows, items, by_source = rows[order], items[order], by_source[order]
    first = np.ones(len(rows), dtype=bool)  # the origin: the first source (in SOURCES order) that proposed it
    first[1:] = (rows[1:] != rows[:-1]) | (items[1:] != items[:-1])
    rows, items, by_source = rows[first], items[first], by_source[first]
    return Candidates(
        items=items,
        scores={s: _at(scores[s], rows, items) for s in SOURCES},
        origin=np.array(SOURCES, dtype=object)[by_source],
        row=rows if batch > 1 else None,
    )


def _at(scores: np.ndarray | sp.csr_matrix | ByGroup, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    if isinstance(scores, ByGroup):
        return scores.at(rows, items)
    if sp.issparse(scores):
        if not len(rows):  # scipy answers an empty fancy index with an object, not an empty array
            return np.zeros(0, dtype=np.float32)
        return np.asarray(scores[rows, items], dtype=np.float32).ravel()
    return scores[items] if scores.ndim == 1 else scores[rows, items]


def _rank_within(values: np.ndarray, rows: np.ndarray | None = None, items: np.ndarray | None = None) -> np.ndarray:
    """1-based rank of each value within its row, best first; ties by item index (candidates come in item order)."""
    rows = np.zeros(len(values), dtype=np.int64) if rows is None else rows
    items = np.arange(len(values)) if items is None else items
    order = np.lexsort((items, -values, rows))
    ranks = np.empty(len(values), dtype=np.float32)
    ranks[order] = np.arange(len(values)) - np.searchsorted(rows[order], rows[order]) + 1
    return ranks


def features(r: Retrieval, u: int | None, cand: Candidates) -> pd.DataFrame:
    """The ranker's features for one user's candidates (unknown user: the user columns are zero)."""
    return batch_features(r, np.array([-1 if u is None else u]), cand)


def batch_features(r: Retrieval, users: np.ndarray, cand: Candidates) -> pd.DataFrame:
    """The ranker's features for a batch's candidates; `users[row]` is the user index, -1 for an unknown user."""
    items, rows = cand.items, cand.rows
    cols: dict[str, np.ndarray] = {}
    for s in SOURCES:
        cols[f"{s}_score"] = cand.scores[s].astype(np.float32)
    for s in SOURCES:
        cols[f"{s}_rank"] = _rank_within(cand.scores[s], rows, items)
    known = users >= 0
    per_user = np.zeros((len(users), 4), np.float32)  # idle days, interactions, items, bookings
    category = np.zeros((len(users), len(r.categories)), np.float32)
    subcategory = np.zeros((len(users), len(r.subcategories)), np.float64)
    if known.any():
        k = users[known]
        history = r.history[k]
        totals = np.asarray(history.sum(axis=1), dtype=np.float64).ravel()
        booked = history.copy()
        booked.data = (booked.data >= 3).astype(np.float32)
        per_user[known] = np.column_stack(
            [r.user_idle_days[k], totals, np.diff(history.indptr), np.asarray(booked.sum(axis=1)).ravel()]
        )
        category[known] = r.user_category[k]
        weights = np.asarray((history @ r.subcategory_onehot).todense(), dtype=np.float64)
        subcategory[known] = weights / np.where(totals > 0, totals, 1.0)[:, None]
    for j, c in enumerate(("user_idle_days", "user_interactions", "user_items", "user_bookings")):
        cols[c] = per_user[rows, j]
    cols["user_category_share"] = category[rows, r.category_code[items]]
    cols["user_subcategory_share"] = subcategory[rows, r.subcategory_code[items]].astype(np.float32)
    cols["item_price"] = r.price[items]
    cols["item_age_days"] = r.age_days[items]
    for d in BOOKING_WINDOWS:
        cols[f"item_bookings_last_{d}_days"] = r.bookings_last[d][items]
    frame = pd.DataFrame(cols)
    frame["item_category"] = r.category[items].astype(str)
    frame["item_subcategory"] = r.subcategory[items].astype(str)
    return frame[FEATURES]


RANKER_PARAMS = {"loss_function": "YetiRank", "learning_rate": 0.08, "depth": 4}


def training_rows(
    rows: np.ndarray, labels: np.ndarray, n_users: int, rng: np.random.Generator, max_negatives: int | None = 40
) -> tuple[np.ndarray, np.ndarray]:
    """Which candidates train the ranker, and their group (one per user kept, numbered from 0).

    Every relevant candidate and a sample of the others: the pairs that teach, at a fraction of the rows.
    Users without both a relevant and an irrelevant candidate teach nothing pairwise and are left out;
    groups are contiguous by construction (CatBoost requires it). `rows` is sorted (candidates' order).
    """
    bounds = np.searchsorted(rows, np.arange(n_users + 1))
    keep: list[np.ndarray] = []
    group: list[np.ndarray] = []
    for j in range(n_users):
        y = labels[bounds[j] : bounds[j + 1]]
        positives, negatives = np.flatnonzero(y > 0), np.flatnonzero(y == 0)
        if not len(positives) or not len(negatives):
            continue
        if max_negatives is not None and len(negatives) > max_negatives:
            negatives = np.sort(rng.choice(negatives, max_negatives, replace=False))
        picked = bounds[j] + np.sort(np.concatenate([positives, negatives]))
        keep.append(picked)
        group.append(np.full(len(picked), len(group)))
    if not keep:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    return np.concatenate(keep), np.concatenate(group)


def fit_ranker(
    x: pd.DataFrame,
    y: np.ndarray,
    group: np.ndarray,
    iterations: int = 150,
    seed: int = 0,
    thread_count: int = 2,
    **params,
) -> CatBoostRanker:
    """YetiRank on groups of one user's candidates, graded labels (0 none, 1 click, 2 favourite, 3 booking)."""
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
