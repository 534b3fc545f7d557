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
    catalogue that appears in at least one list.
    """
    out: dict[str, dict[str, float]] = {}
    info = -np.log2(np.maximum(popularity, 1.0) / max(n_users, 1))
    for k in KS:
        per_user = [user_metrics(lists[u], truth[u], k) for u in truth]
        shown = np.concatenate([lists[u][:k] for u in truth]) if truth else np.array([], dtype=int)
        out[f"@{k}"] = {
            **{m: float(np.mean([p[m] for p in per_user])) if per_user else 0.0 for m in ("precision", "recall")},
            **{m: float(np.mean([p[m] for p in per_user])) if per_user else 0.0 for m in ("ndcg", "map")},
            "coverage": float(len(np.unique(shown)) / n_items) if n_items else 0.0,
            "novelty": float(info[shown].mean()) if len(shown) else 0.0,
        }
    return out
