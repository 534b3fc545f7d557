"""Candidate retrieval fitted on one set of interactions (ML.md section 3.2), numpy/scipy only.

- item co-occurrence: cosine of the binarised user x item matrix, the top `NEIGHBOURS` per item kept
  (the same truncated lists answer "similar offers" and, summed over a user's history, the home list);
- latent factors: truncated SVD of the weighted user x item matrix, a dot-product retrieval;
- popularity: distinct users per item, all time and over the last `TREND_DAYS` (trend),
  the cold-start source.

Everything a request needs is an array here, so the service answers without pandas.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import solve_triangular

NEIGHBOURS = 100
FACTORS = 48
TREND_DAYS = 28
BOOKING_WINDOWS = (7, 14, 28)
SVD_ITERATIONS = 5
PAIRS_PER_BLOCK = 4_000_000  # co-occurring item pairs held at once while the neighbours are computed


@dataclass
class Retrieval:
    item_ids: np.ndarray  # str, the catalogue (position = item index)
    user_ids: np.ndarray  # str, users seen in the interactions
    history: sp.csr_matrix  # users x items, strongest interaction weight (1 click, 2 favourite, 3 booking)
    neighbours: sp.csr_matrix  # items x items, cosine of co-occurrence, top NEIGHBOURS per row
    user_factors: np.ndarray  # users x k (float32)
    item_factors: np.ndarray  # items x k (float32)
    popularity: np.ndarray  # distinct users per item, all time
    trend: np.ndarray  # distinct users per item over the last TREND_DAYS
    period_popularity: sp.csr_matrix  # periods x items: distinct users per TREND_DAYS period, 0 = the latest
    user_idle_days: np.ndarray  # per user: days between their latest interaction and the cutoff
    bookings_last: dict[int, np.ndarray]  # window days -> bookings per item
    category: np.ndarray  # str per item ('UNKNOWN' without item features)
    subcategory: np.ndarray
    price: np.ndarray  # float, NaN when unknown
    age_days: np.ndarray  # days between the item's creation and the cutoff, NaN when unknown
    cutoff: pd.Timestamp  # the latest interaction fitted on: "now" for the time features
    item_index: dict[str, int] = field(init=False, repr=False)
    user_index: dict[str, int] = field(init=False, repr=False)
    categories: np.ndarray = field(init=False, repr=False)  # sorted distinct categories
    category_code: np.ndarray = field(init=False, repr=False)  # int per item
    user_category: np.ndarray = field(init=False, repr=False)  # users x categories, weight share
    subcategories: np.ndarray = field(init=False, repr=False)  # sorted distinct subcategories
    subcategory_code: np.ndarray = field(init=False, repr=False)  # int per item
    subcategory_onehot: sp.csr_matrix = field(init=False, repr=False)  # items x subcategories
    # the request-independent scores of the popularity sources, computed once (each is a catalogue-long array)
    popularity_score: np.ndarray = field(init=False, repr=False)
    trend_score: np.ndarray = field(init=False, repr=False)
    tie: np.ndarray = field(init=False, repr=False)  # a tiny all-time popularity term that breaks ties
    orders: dict = field(init=False, repr=False, default_factory=dict)  # see order()
    eras: dict = field(init=False, repr=False, default_factory=dict)  # see era_score()

    def __post_init__(self) -> None:
        self.item_index = {v: i for i, v in enumerate(self.item_ids.tolist())}
        self.user_index = {v: i for i, v in enumerate(self.user_ids.tolist())}
        self.categories, self.category_code = np.unique(self.category, return_inverse=True)
        onehot = sp.csr_matrix(
            (np.ones(len(self.item_ids)), (np.arange(len(self.item_ids)), self.category_code)),
            shape=(len(self.item_ids), len(self.categories)),
        )
        per_cat = np.asarray((self.history @ onehot).todense(), dtype=np.float32)
        totals = per_cat.sum(axis=1, keepdims=True)
        self.user_category = np.divide(per_cat, totals, out=np.zeros_like(per_cat), where=totals > 0)
        self.subcategories, self.subcategory_code = np.unique(self.subcategory, return_inverse=True)
        self.subcategory_onehot = sp.csr_matrix(
            (np.ones(len(self.item_ids)), (np.arange(len(self.item_ids)), self.subcategory_code)),
            shape=(len(self.item_ids), len(self.subcategories)),
        )
        self.tie = 1e-3 * self.popularity / max(float(self.popularity.max(initial=0)), 1.0)
        self.popularity_score = self.popularity + 1e-3
        self.trend_score = self.trend + self.tie + 1e-6  # a trend of zero still orders by all-time success

    def order(self, key: object, scores: np.ndarray) -> np.ndarray:
        """The catalogue by a score every user shares (best first, then item index), sorted once per key."""
        if key not in self.orders:
            self.orders[key] = np.lexsort((np.arange(len(scores)), -scores)).astype(np.int32)
        return self.orders[key]

    def era_score(self, period: int) -> np.ndarray:
        """The era source's score: popularity in one TREND_DAYS period (0 = the latest), ties broken by
        all-time popularity. Computed once per period: every batch of users asks for it again."""
        if period not in self.eras:
            counts = self.period_popularity[period].toarray().astype(np.float32, copy=False).ravel()
            self.eras[period] = counts + self.tie + 1e-6
        return self.eras[period]

    # --- scores over the whole catalogue, for one user -------------------------------------
    def cooc_scores(self, u: int) -> np.ndarray:
        return np.asarray((self.history[u] @ self.neighbours).todense(), dtype=np.float32).ravel()

    def cooc_scores_from(self, items: list[int]) -> np.ndarray:
        if not items:
            return np.zeros(len(self.item_ids), dtype=np.float32)
        return np.asarray(self.neighbours[items].sum(axis=0), dtype=np.float32).ravel()

    def svd_scores(self, u: int) -> np.ndarray:
        return self.item_factors @ self.user_factors[u]

    def seen(self, u: int) -> np.ndarray:
        return self.history.indices[self.history.indptr[u] : self.history.indptr[u + 1]]

    # --- persistence (the served bundle) ------------------------------------------------------
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        # uncompressed: zlib took half of writing a 100k-user bundle, and loading the service waits on it too
        sp.save_npz(folder / "history.npz", self.history, compressed=False)
        sp.save_npz(folder / "neighbours.npz", self.neighbours, compressed=False)
        sp.save_npz(folder / "period_popularity.npz", self.period_popularity, compressed=False)
        # typed Any: numpy's stub would match **arrays against its `allow_pickle: bool`
        arrays: dict[str, Any] = {f"bookings_last_{d}": v for d, v in self.bookings_last.items()}
        np.savez(
            folder / "arrays.npz",
            item_ids=self.item_ids.astype(str),
            user_ids=self.user_ids.astype(str),
            user_factors=self.user_factors,
            item_factors=self.item_factors,
            popularity=self.popularity,
            trend=self.trend,
            user_idle_days=self.user_idle_days,
            category=self.category.astype(str),
            subcategory=self.subcategory.astype(str),
            price=self.price,
            age_days=self.age_days,
            cutoff=np.array([self.cutoff.isoformat()]),
            **arrays,
        )

    @classmethod
    def load(cls, folder: Path) -> Retrieval:
        a = np.load(folder / "arrays.npz", allow_pickle=False)
        return cls(
            item_ids=a["item_ids"],
            user_ids=a["user_ids"],
            history=sp.load_npz(folder / "history.npz").tocsr(),
            neighbours=sp.load_npz(folder / "neighbours.npz").tocsr(),
            user_factors=a["user_factors"],
            item_factors=a["item_factors"],
            popularity=a["popularity"],
            trend=a["trend"],
            period_popularity=sp.load_npz(folder / "period_popularity.npz").tocsr(),
            user_idle_days=a["user_idle_days"],
            bookings_last={d: a[f"bookings_last_{d}"] for d in BOOKING_WINDOWS},
            category=a["category"],
            subcategory=a["subcategory"],
            price=a["price"],
            age_days=a["age_days"],
            cutoff=pd.Timestamp(str(a["cutoff"][0])),
        )


def top_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the k largest entries of each row of a CSR matrix (ties: the lower column first), vectorised."""
    m = m.tocsr()
    m.sum_duplicates()
    counts = np.diff(m.indptr)
    rows = np.repeat(np.arange(m.shape[0]), counts)
    long = np.flatnonzero(counts[rows] > k)  # only rows with more than k entries need a sort
    order = long[np.lexsort((m.indices[long], -m.data[long], rows[long]))]
    rank = np.arange(len(order)) - np.searchsorted(rows[order], rows[order])
    keep = np.sort(np.concatenate([np.flatnonzero(counts[rows] <= k), order[rank < k]]))
    return sp.csr_matrix(
        (m.data[keep].astype(np.float32), (rows[keep], m.indices[keep])), shape=m.shape, dtype=np.float32
    )


def cooccurrence_neighbours(binary: sp.csr_matrix, k: int, pairs_per_block: int = PAIRS_PER_BLOCK) -> sp.csr_matrix:
    """Top-k co-occurrence cosine neighbours per item of a binary users x items matrix, in blocks of items.

    The full items x items product grows with the square of each user's history; a block of item rows
    holds about `pairs_per_block` co-occurring pairs before its top k are kept, so memory stays bounded.
    """
    n_items = binary.shape[1]
    by_item = binary.T.tocsr()
    norms = np.sqrt(np.diff(by_item.indptr)).astype(np.float32)
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    # an upper bound of each item row's non-zeros: the sum of its users' history lengths
    pairs = by_item @ np.diff(binary.indptr).astype(np.float64)
    block = np.cumsum(pairs) // pairs_per_block
    edges = np.concatenate([[0], np.flatnonzero(np.diff(block)) + 1, [n_items]]).astype(int)
    blocks = []
    for start, end in itertools.pairwise(edges):
        co = (by_item[start:end] @ binary).tocsr().astype(np.float32)
        co = sp.diags(inv[start:end]) @ co @ sp.diags(inv)
        co = co.tocsr()
        rows = np.repeat(np.arange(start, end), np.diff(co.indptr))
        co.data[rows == co.indices] = 0.0  # an item is not its own neighbour
        co.eliminate_zeros()
        blocks.append(top_per_row(co, k))
    if not blocks:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    return sp.vstack(blocks, format="csr").astype(np.float32)


def factorise(weighted: sp.csr_matrix, k: int, seed: int, oversample: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Truncated SVD split as U sqrt(S) and V sqrt(S), randomised (Halko, Martinsson and Tropp 2011):
    a few passes of the sparse matrix over a thin random block, where ARPACK's Lanczos restarts took
    most of a fit at 100k users. Signs are arbitrary, but a user's and an item's factors flip together."""
    rng = np.random.default_rng(seed)
    width = min(k + oversample, *weighted.shape)
    q = _orthonormal(weighted @ rng.standard_normal((weighted.shape[1], width)))
    for _ in range(SVD_ITERATIONS):  # power iterations, re-orthonormalised: the spectrum decays slowly
        q = _orthonormal(weighted @ _orthonormal(weighted.T @ q))
    u_small, s_, vt = np.linalg.svd((weighted.T @ q).T, full_matrices=False)
    u_ = q @ u_small[:, :k]
    root = np.sqrt(s_[:k])
    return (u_ * root).astype(np.float32), np.ascontiguousarray((vt[:k].T * root).astype(np.float32))


def _orthonormal(y: np.ndarray) -> np.ndarray:
    """An orthonormal basis of a tall, thin block's columns: Cholesky QR, twice (CholeskyQR2, Fukaya et al.
    2014), matrix products only where Householder QR of a 100k-row block took seconds; QR if it is rank-poor.
    Overwrites `y` (every caller passes a product of its own): the solve in place, without a copy of a
    million users x 58 block, took 1.2 s and 0.5 GiB instead of 3.5 s and 0.9 GiB, with the same figures."""
    try:
        for _ in range(2):
            lower = np.linalg.cholesky(y.T @ y)
            y = solve_triangular(lower, y.T, lower=True, overwrite_b=True).T
        return y
    except np.linalg.LinAlgError:
        return np.linalg.qr(y)[0]


def _positions(ids: pd.Series, more: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each id's position among the sorted distinct ids (and `more`), and those ids. One hash pass over the
    ids (factorize), then only the distinct ones are placed: a lookup per interaction (get_indexer) over
    ten million Arrow strings took 8 s a fit, this 5."""
    code, seen = pd.factorize(ids)
    seen = np.asarray(seen, dtype=str)
    distinct = np.unique(seen) if more is None else np.union1d(seen, more).astype(str)
    return np.searchsorted(distinct, seen)[code], distinct


def positions_in(ids: pd.Series, known: np.ndarray) -> np.ndarray:
    """Each id's position in `known` (a retrieval's sorted ids), -1 for one not in it: `_positions`'s
    factorize and search, for ids that may be new (the later interactions the ranker learns from)."""
    code, seen = pd.factorize(ids)
    placed = lookup_sorted(known, np.asarray(seen, dtype=str))
    return np.append(placed, -1)[code]  # a missing id (code -1) takes the -1 appended last


def lookup_sorted(keys: np.ndarray, asked: np.ndarray) -> np.ndarray:
    """Each asked value's position in `keys` (sorted, distinct), -1 for one not in it."""
    if not len(keys):
        return np.full(len(asked), -1)
    at = np.minimum(np.searchsorted(keys, asked), len(keys) - 1)
    return np.where(keys[at] == asked, at, -1)


def fit(
    interactions: pd.DataFrame,
    items: pd.DataFrame | None = None,
    factors: int = FACTORS,
    neighbours: int = NEIGHBOURS,
    seed: int = 0,
) -> Retrieval:
    """Fit every retrieval source on `interactions` (the pipeline's shape, see data.py).

    The catalogue is the items of `items` plus every item interacted with, so an offer nobody
    touched yet can still come out of cold start or a filter.
    """
    items = items if items is not None else pd.DataFrame(columns=["item_id"])
    u, user_ids = _positions(interactions["user_id"])
    i, item_ids = _positions(interactions["item_id"], np.asarray(items["item_id"].unique(), dtype=str))
    n_users, n_items = len(user_ids), len(item_ids)
    ui = pd.DataFrame(
        {
            "u": u,
            "i": i,
            "weight": interactions["weight"].to_numpy(np.float32),
            "event_at": interactions["event_at"].to_numpy(),
            "event_type": interactions["event_type"].to_numpy(),
        }
    )
    del u, i  # the frame holds its own copy: not two more integers per interaction through the fit
    strongest = ui.groupby(["u", "i"], sort=False)["weight"].max().reset_index()
    history = sp.csr_matrix(
        (strongest["weight"].to_numpy(np.float32), (strongest["u"].to_numpy(), strongest["i"].to_numpy())),
        shape=(n_users, n_items),
    )
    history.sort_indices()

    binary = history.copy()
    binary.data[:] = 1.0
    neighbour_matrix = cooccurrence_neighbours(binary, neighbours)

    k = max(1, min(factors, min(n_users, n_items) - 1))
    weighted = history.copy().astype(np.float64)
    weighted.data = np.log1p(weighted.data)
    if min(n_users, n_items) > 2:
        user_factors, item_factors = factorise(weighted, k, seed)
    else:  # too small to factorise: the source scores nothing
        user_factors = np.zeros((n_users, 1), np.float32)
        item_factors = np.zeros((n_items, 1), np.float32)

    cutoff = pd.Timestamp(interactions["event_at"].max())
    popularity = np.asarray(binary.sum(axis=0)).ravel().astype(np.float32)
    recent = ui[ui["event_at"] > cutoff - pd.Timedelta(days=TREND_DAYS)]
    trend = np.zeros(n_items, np.float32)
    counts = recent.groupby("i")["u"].nunique()
    trend[counts.index.to_numpy()] = counts.to_numpy()
    periods = ((cutoff - ui["event_at"]).dt.total_seconds() // (TREND_DAYS * 86400)).astype(int).to_numpy()
    per_period = pd.DataFrame({"p": periods, "i": ui["i"].to_numpy(), "u": ui["u"].to_numpy()}).drop_duplicates()
    period_counts = per_period.groupby(["p", "i"]).size()
    period_popularity = sp.csr_matrix(
        (
            period_counts.to_numpy(np.float32),
            (period_counts.index.get_level_values(0), period_counts.index.get_level_values(1)),
        ),
        shape=(int(periods.max(initial=0)) + 1, n_items),
    )
    last = ui.groupby("u")["event_at"].max()
    user_idle_days = np.zeros(n_users, np.float32)
    user_idle_days[last.index.to_numpy()] = ((cutoff - last).dt.total_seconds() / 86400).to_numpy(np.float32)
    bookings_last = {}
    booked = ui[ui["event_type"] == "booking"]
    for days in BOOKING_WINDOWS:
        window = booked[booked["event_at"] > cutoff - pd.Timedelta(days=days)].groupby("i").size()
        values = np.zeros(n_items, np.float32)
        values[window.index.to_numpy()] = window.to_numpy()
        bookings_last[days] = values

    meta = items.set_index("item_id").reindex(item_ids) if len(items) else pd.DataFrame(index=item_ids)
    category = meta["category"].fillna("UNKNOWN").astype(str).to_numpy() if "category" in meta else None
    subcategory = meta["subcategory"].fillna("UNKNOWN").astype(str).to_numpy() if "subcategory" in meta else None
    price = meta["price"].astype(float).to_numpy() if "price" in meta else np.full(n_items, np.nan)
    if "created_at" in meta:
        age_days = ((cutoff - pd.to_datetime(meta["created_at"])).dt.total_seconds() / 86400).to_numpy(float)
    else:
        age_days = np.full(n_items, np.nan)
    return Retrieval(
        item_ids=item_ids,
        user_ids=user_ids,
        history=history,
        neighbours=neighbour_matrix,
        user_factors=user_factors,
        item_factors=item_factors,
        popularity=popularity,
        trend=trend,
        period_popularity=period_popularity,
        user_idle_days=user_idle_days,
        bookings_last=bookings_last,
        category=category if category is not None else np.full(n_items, "UNKNOWN"),
        subcategory=subcategory if subcategory is not None else np.full(n_items, "UNKNOWN"),
        price=price.astype(np.float64),
        age_days=age_days.astype(np.float64),
        cutoff=cutoff,
    )
