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
    nothing = ranking.candidates(r, scores, np.zeros(len(r.item_ids), bool))  # a request's filters leave nothing
    assert len(nothing.items) == 0 and ranking.features(r, u, nothing).empty


@pytest.mark.parametrize("known", [["o1", "o3", "o5"], ["o3"], []])
def test_ids_are_placed_in_a_retrieval_as_a_lookup_would(known):
    """`positions_in` (factorize, then a search of the distinct ids) gives get_indexer's answer: an id
    before, between or after the known ones, a missing one, and an empty catalogue all come out -1."""
    ids = pd.Series(["o3", "o0", "o9", "o1", None, "o4", "o5", "o3"], dtype="string[pyarrow]")
    sorted_known = np.array(known, dtype=str)
    expected = pd.Index(sorted_known).get_indexer(ids)
    assert retrieval.positions_in(ids, sorted_known).tolist() == expected.tolist()


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


def _brute_top(scores: np.ndarray, allowed: np.ndarray, n: int, tiebreak: np.ndarray, positive: bool) -> list:
    ok = np.flatnonzero(allowed & (scores > 0) if positive else allowed)
    return ok[np.lexsort((tiebreak[ok], -scores[ok]))][:n].tolist()


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("items,n", [(300, 20), (40_000, 5)])  # the second: dense rows cut by a sampled threshold
def test_top_n_is_one_total_order_whatever_the_scores_shape(positive, items, n):
    """Dense, shared and sparse scores, batches and single rows: score descending, then the tie-break."""
    import scipy.sparse as sp

    rng = np.random.default_rng(3)
    rows = 7
    scores = rng.integers(0, 6, (rows, items)).astype(np.float32)  # many ties, zeros among them
    scores[4] = rng.random(items)  # distinct scores: the threshold is a strict cut
    scores[5] = 0  # nothing positive
    allowed = rng.random((rows, items)) > 0.3
    allowed[2, :] = False
    allowed[3, :15] = True
    allowed[3, 15:] = False  # few allowed items, next to each other: a strided sample holds fewer than n
    tiebreak = rng.permutation(items)
    for j in range(rows):
        expected = _brute_top(scores[j], allowed[j], n, tiebreak, positive)
        batch = ranking.top_n(scores, allowed, n, tiebreak, positive=positive)[j]
        single = ranking.top_n(scores[j], allowed[j], n, tiebreak, positive=positive)[0]
        shared = ranking.top_n(scores[0], allowed, n, tiebreak, positive=positive)[j]
        assert batch[batch >= 0].tolist() == single[single >= 0].tolist() == expected
        assert shared[shared >= 0].tolist() == _brute_top(scores[0], allowed[j], n, tiebreak, positive)
        if positive:
            sparse = ranking.top_n(sp.csr_matrix(scores), allowed, n, tiebreak, positive=True)[j]
            assert sparse[sparse >= 0].tolist() == expected


def test_a_batch_of_users_gets_the_candidates_and_features_the_service_builds():
    """Training scores users in batches; the service one request at a time: the same candidates, origins
    and features (up to float rounding of the batched products)."""
    log = data.normalise(generated_log(users=80))
    r = retrieval.fit(log, factors=8)
    users = np.arange(len(r.user_ids))
    allowed = pipeline._unseen(r, users)
    batch = ranking.candidates(r, ranking.batch_scores(r, users), allowed)
    frame = ranking.batch_features(r, users, batch)
    for u in (0, 11, 42, 79):
        one = ranking.candidates(r, ranking.source_scores(r, u), allowed[u])
        mine = batch.rows == u
        assert one.items.tolist() == batch.items[mine].tolist() and one.origin.tolist() == batch.origin[mine].tolist()
        pd.testing.assert_frame_equal(
            ranking.features(r, u, one), frame[mine].reset_index(drop=True), check_exact=False, atol=1e-5
        )


def test_cooccurrence_in_blocks_equals_the_whole_product():
    import scipy.sparse as sp

    binary = sp.random(300, 200, density=0.05, random_state=1, format="csr", dtype=np.float32)
    binary.data[:] = 1.0
    whole = retrieval.cooccurrence_neighbours(binary, 10, pairs_per_block=10**9)
    blocks = retrieval.cooccurrence_neighbours(binary, 10, pairs_per_block=50)
    assert abs(whole - blocks).max() == 0 and whole.diagonal().sum() == 0
    assert np.diff(whole.indptr).max() == 10


def test_samples_are_bounded_seeded_and_recorded():
    log = data.normalise(generated_log(users=120))
    params = pipeline.Params(iterations=20, eval_users=40, ranker_users=50)
    first = pipeline.evaluate(log, None, params)
    again = pipeline.evaluate(log, None, params)
    assert first.metrics["data"]["evaluated_users"] == 40 < first.metrics["data"]["evaluable_users"]
    assert first.metrics["ranker"]["evaluated"]["users"] == 50 < first.metrics["ranker"]["evaluated"]["eligible_users"]
    assert first.metrics["params"]["eval_users"] == 40 and first.metrics["params"]["ranker_users"] == 50
    assert len(first.lists["ranker"]) == 40
    assert first.metrics["models"] == again.metrics["models"]  # the same seed, the same model and figures


def test_the_served_ranker_reuses_the_evaluation_retrieval_and_batches_change_nothing(monkeypatch):
    """The served ranker's history is the evaluation's (fit + label), so that retrieval is fitted once, not
    twice; the batch size only bounds memory: one user a batch gives the same lists and figures."""
    log = data.normalise(generated_log(users=120))
    params = pipeline.Params(iterations=20, eval_users=40, ranker_users=50)
    history = log[pipeline.split(log).isin(["fit", "label"])]
    later = log[pipeline.split(log) == "test"]
    fresh, fresh_on = pipeline.fit_ranker(history, later, None, params)
    given = retrieval.fit(history, None, seed=params.seed)
    reused, reused_on = pipeline.fit_ranker(history, later, None, params, given)
    assert pipeline._trained_on(fresh_on) == pipeline._trained_on(reused_on) and reused_on["rows"] > 0
    importance = {"type": "PredictionValuesChange"}
    assert fresh.get_feature_importance(**importance).tolist() == reused.get_feature_importance(**importance).tolist()

    fits: list[int] = []
    fit = retrieval.fit
    monkeypatch.setattr(retrieval, "fit", lambda rows, *a, **k: fits.append(len(rows)) or fit(rows, *a, **k))
    whole = pipeline.evaluate(log, None, params)
    assert fits == [len(log[pipeline.split(log) == "fit"]), len(history), len(log)]  # first ranker, evaluation, served
    monkeypatch.setattr(pipeline, "BATCH_CELLS", 1)
    one_by_one = pipeline.evaluate(log, None, params)
    assert one_by_one.metrics["models"] == whole.metrics["models"]
    for method, lists in whole.lists.items():
        assert {u: v.tolist() for u, v in lists.items()} == {u: v.tolist() for u, v in one_by_one.lists[method].items()}
