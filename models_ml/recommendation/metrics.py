"""Offline ranking metrics on top-k lists against each user's held-out items (binary relevance)."""

from __future__ import annotations

import numpy as np

KS = (10, 50)


def user_metrics(ranked: np.ndarray, relevant: set[int], k: int) -> dict[str, float]:
    top = ranked[:k].tolist()
    hits = np.array([i in relevant for i in top], dtype=float)
    n_rel = len(relevant)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((hits * discounts[: len(hits)]).sum())
    idcg = float(discounts[: min(n_rel, k)].sum())
    precisions = np.cumsum(hits) / np.arange(1, len(hits) + 1) if len(hits) else np.array([])
    ap = float((precisions * hits).sum() / min(n_rel, k)) if n_rel else 0.0
    return {
        "precision": float(hits.sum() / k),
        "recall": float(hits.sum() / n_rel) if n_rel else 0.0,
        "ndcg": dcg / idcg if idcg else 0.0,
        "map": ap,
    }


def evaluate_lists(
    lists: dict[int, np.ndarray], truth: dict[int, set[int]], popularity: np.ndarray, n_users: int, n_items: int
) -> dict[str, dict[str, float]]:
    """Mean precision/recall/NDCG/MAP over the evaluated users, catalogue coverage and novelty, at each k.

    Novelty is the mean self-information -log2(share of training users who touched the item) of the
    recommended items (the definition of Microsoft recommenders' `novelty`); coverage the share of the
    catalogue that appears in at least one list. The same figures as `user_metrics` averaged, computed
    on users x k arrays at once.
    """
    out: dict[str, dict[str, float]] = {}
    info = -np.log2(np.maximum(popularity, 1.0) / max(n_users, 1))
    users = list(truth)
    width = max(KS)
    ranked = np.full((len(users), width), -1, dtype=np.int64)
    for j, u in enumerate(users):
        top = np.asarray(lists[u][:width], dtype=np.int64)
        ranked[j, : len(top)] = top
    relevant = np.array(sorted((j * max(n_items, 1) + i) for j, u in enumerate(users) for i in truth[u]), np.int64)
    keys = np.arange(len(users))[:, None] * max(n_items, 1) + ranked
    hits_all = (ranked >= 0) & np.isin(keys, relevant)
    n_rel = np.array([len(truth[u]) for u in users], dtype=float)
    for k in KS:
        hits = hits_all[:, :k].astype(float)
        discounts = 1.0 / np.log2(np.arange(2, k + 2))
        ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(n_rel, k).astype(int)]
        precisions = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
        found = hits.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_user = {
                "precision": found / k,
                "recall": np.where(n_rel > 0, found / n_rel, 0.0),
                "ndcg": np.where(ideal > 0, (hits @ discounts) / ideal, 0.0),
                "map": np.where(n_rel > 0, (precisions * hits).sum(axis=1) / np.minimum(n_rel, k), 0.0),
            }
        shown = ranked[:, :k][ranked[:, :k] >= 0]
        out[f"@{k}"] = {
            **{m: float(v.mean()) if len(users) else 0.0 for m, v in per_user.items()},
            "coverage": float(len(np.unique(shown)) / n_items) if n_items else 0.0,
            "novelty": float(info[shown].mean()) if len(shown) else 0.0,
        }
    return out
