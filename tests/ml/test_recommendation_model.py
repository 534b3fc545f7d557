"""The recommender's pieces without a warehouse: metrics, split, diversification, retrieval, and
`pcdata evaluate recommendation` on a small generated interaction log the world did not make."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from models_ml.recommendation import data, pipeline, ranking, retrieval
from models_ml.recommendation.metrics import user_metrics
from pcdata.cli import main


def test_metrics_by_hand():
    ranked = np.array([5, 1, 7, 2])
    m = user_metrics(ranked, {1, 2, 9}, k=4)
    assert m["precision"] == pytest.approx(2 / 4)
    assert m["recall"] == pytest.approx(2 / 3)
    dcg = 1 / np.log2(3) + 1 / np.log2(5)
    idcg = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    assert m["ndcg"] == pytest.approx(dcg / idcg)
    assert m["map"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert user_metrics(np.array([3]), {3}, k=10)["ndcg"] == pytest.approx(1.0)


def test_split_is_per_user_and_chronological():
    t0 = datetime(2026, 1, 1)
    log = data.normalise(
        pd.DataFrame(
            [
                {"user_id": "a", "item_id": str(i), "event_type": "click", "event_at": t0 + timedelta(days=i)}
                for i in range(10)
            ]
            + [{"user_id": "b", "item_id": "x", "event_type": "booking", "event_at": t0}] * 3
        )
    )
    part = pipeline.split(log)
    a = log.assign(part=part)[log["user_id"] == "a"]
    assert list(a["part"]) == ["fit"] * 6 + ["label"] * 2 + ["test"] * 2
    assert a.groupby("part")["event_at"].max()["fit"] < a.groupby("part")["event_at"].min()["test"]
    assert set(part[log["user_id"] == "b"]) == {"fit"}  # too few interactions to hold any out


def test_diversify_takes_turns_between_categories():
    order = np.array([1, 2, 3, 4, 5, 6])
    groups = np.array(["A", "A", "A", "B", "C", "B"])
    assert ranking.diversify(order, groups, 5).tolist() == [1, 4, 5, 2, 6]


def test_normalise_rejects_what_it_cannot_read():
    with pytest.raises(data.InvalidInteractions, match="missing column"):
        data.normalise(pd.DataFrame({"user_id": [1], "item_id": [2]}))
    with pytest.raises(data.InvalidInteractions, match="unknown event_type"):
        data.normalise(
            pd.DataFrame({"user_id": [1], "item_id": [2], "event_type": ["view"], "event_at": ["2026-01-01"]})
        )
    with pytest.raises(data.InvalidInteractions, match="not a timestamp"):
        data.normalise(pd.DataFrame({"user_id": [1], "item_id": [2], "event_type": ["click"], "event_at": ["soon"]}))


def generated_log(seed: int = 0, users: int = 160, items: int = 120, categories: int = 6) -> pd.DataFrame:
    """Users who each like one category; items with a skewed popularity; a planted signal a ranker can find."""
    rng = np.random.default_rng(seed)
    item_cat = np.arange(items) % categories
    weight = rng.pareto(1.5, items) + 0.1
    rows, t0 = [], datetime(2025, 1, 1)
    for u in range(users):
        liked = rng.integers(categories)
        for n in range(int(rng.integers(6, 16))):
            pool = np.flatnonzero(item_cat == liked) if rng.random() < 0.75 else np.arange(items)
            i = rng.choice(pool, p=weight[pool] / weight[pool].sum())
            kind = rng.choice(["click", "favorite", "booking"], p=[0.75, 0.1, 0.15])
            rows.append(
                {
                    "user_id": f"u{u}",
                    "item_id": f"i{i}",
                    "event_type": kind,
                    "event_at": t0 + timedelta(days=int(rng.integers(0, 300)), minutes=n),
                }
            )
    return pd.DataFrame(rows)


def test_retrieval_neighbours_and_popularity():
    log = data.normalise(generated_log(users=60))
    r = retrieval.fit(log, factors=8)
    assert r.neighbours.shape == (len(r.item_ids),) * 2 and r.neighbours.diagonal().sum() == 0
    assert (np.diff(r.neighbours.indptr) <= retrieval.NEIGHBOURS).all()
    assert r.popularity.sum() == log.groupby("item_id")["user_id"].nunique().sum()
    u = r.user_index["u0"]
    scores = ranking.source_scores(r, u)
    allowed = np.ones(len(r.item_ids), bool)
    allowed[r.seen(u)] = False
    cand = ranking.candidates(r, scores, allowed)
    assert len(cand.items) and not set(cand.items) & set(r.seen(u))
    assert list(ranking.features(r, u, cand).columns) == ranking.FEATURES


def test_evaluate_command_on_a_generated_file(tmp_path):
    path = tmp_path / "interactions.csv"
    generated_log().to_csv(path, index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["evaluate", "recommendation", "--interactions", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    models = metrics["models"]
    assert set(models) == set(pipeline.METHODS)
    assert metrics["data"]["item_features"] == [] and metrics["data"]["evaluated_users"] > 100
    assert models["ranker"]["@10"]["ndcg"] > 1.5 * models["random"]["@10"]["ndcg"], models
    assert models["ranker"]["@50"]["recall"] > models["random"]["@50"]["recall"]
    assert (out / "index.html").exists() and (out / "metrics_at_10.png").stat().st_size > 5_000


def test_evaluate_command_says_what_is_wrong_with_a_file(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"user": [1], "item_id": [2]}).to_csv(path, index=False)
    result = CliRunner().invoke(
        main, ["evaluate", "recommendation", "--interactions", str(path), "--out", str(tmp_path)]
    )
    assert result.exit_code == 1 and "missing column" in " ".join(result.output.split())
