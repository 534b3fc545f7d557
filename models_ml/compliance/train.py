"""Train, evaluate and register the compliance classifier.

- Data: the dbt mart `marts_ml.mrt_ml__compliance_training_offers`.
- Split by review date: the oldest 70 % train, the next 15 % validate (early
  stopping and threshold), the latest 15 % test: the model is judged on reviews
  that happened after everything it learnt from (see docs/decisions/0005).
- Class imbalance: balanced class weights.
- Threshold, chosen on validation: the highest recall of rejections whose
  precision stays at or above `PRECISION_FLOOR` (a reviewer's queue that is at
  least half real rejections); the best-F1 threshold when no threshold reaches it.
- Registered with `bentoml.models.create` (model.cbm + metadata: features,
  threshold, training window, metrics, data fingerprint).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier
from sklearn import metrics as skm

from . import MODEL_NAME
from .features import CAT_FEATURES, FEATURES, LABEL, NUM_FEATURES, TEXT_FEATURES, feature_rows, pool

PRECISION_FLOOR = 0.5
SPLIT = (0.70, 0.15)  # train, validation; the rest is test


@dataclass
class TrainingResult:
    model: CatBoostClassifier
    threshold: float
    metrics: dict
    test: pd.DataFrame  # feature columns, label and predicted probability of the test reviews
    metadata: dict


def time_split(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ordered = data.sort_values(["reviewed_at", "offer_id"]).reset_index(drop=True)
    n = len(ordered)
    a, b = int(n * SPLIT[0]), int(n * (SPLIT[0] + SPLIT[1]))
    return ordered.iloc[:a], ordered.iloc[a:b], ordered.iloc[b:]


def choose_threshold(y_true: np.ndarray, p_rejected: np.ndarray, floor: float = PRECISION_FLOOR) -> float:
    precision, recall, thresholds = skm.precision_recall_curve(y_true, p_rejected)
    precision, recall = precision[:-1], recall[:-1]  # align with thresholds
    ok = precision >= floor
    if ok.any():
        best = np.flatnonzero(ok)[np.argmax(recall[ok])]
    else:
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        best = int(np.argmax(f1))
    return float(thresholds[best])


def evaluate(y_true: np.ndarray, p_rejected: np.ndarray, threshold: float) -> dict:
    y_pred = (p_rejected >= threshold).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    majority = round(float(np.mean(y_true))) if len(y_true) else 0
    return {
        "n": len(y_true),
        "rejected_share": float(np.mean(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred)),
        "precision_rejected": float(skm.precision_score(y_true, y_pred, zero_division=0)),
        "recall_rejected": float(skm.recall_score(y_true, y_pred, zero_division=0)),
        "precision_validated": float(skm.precision_score(1 - y_true, 1 - y_pred, zero_division=0)),
        "recall_validated": float(skm.recall_score(1 - y_true, 1 - y_pred, zero_division=0)),
        "roc_auc": float(skm.roc_auc_score(y_true, p_rejected)),
        "pr_auc": float(skm.average_precision_score(y_true, p_rejected)),
        "confusion_matrix": {
            "labels": ["validated", "rejected"],
            "rows_true_cols_predicted": [[int(tn), int(fp)], [int(fn), int(tp)]],
        },
        "baseline_majority": {
            "accuracy": float(np.mean(y_true == majority)),
            "balanced_accuracy": 0.5,  # always predicting one class
        },
    }


def fingerprint(data: pd.DataFrame) -> str:
    ordered = data.sort_values("offer_id")[["offer_id", *FEATURES, LABEL]]
    return hashlib.sha256(pd.util.hash_pandas_object(ordered, index=False).values.tobytes()).hexdigest()


def subcategory_flags(data: pd.DataFrame) -> dict[str, dict[str, bool]]:
    """subcategory -> outing / physical goods flags, so the service can fill them from the subcategory."""
    flags = data.groupby("offer_subcategory_id")[["is_outing", "is_physical_goods"]].first()
    return {sub: {k: bool(v) for k, v in row.items()} for sub, row in flags.iterrows()}


def train(data: pd.DataFrame, seed: int = 42, iterations: int = 400, thread_count: int = 2) -> TrainingResult:
    if data[LABEL].nunique() < 2:
        raise ValueError("the training data holds a single class: nothing to learn")
    train_df, valid_df, test_df = time_split(data)
    rows = {
        name: feature_rows(part.to_dict("records"))
        for name, part in (("train", train_df), ("valid", valid_df), ("test", test_df))
    }
    model = CatBoostClassifier(
        iterations=iterations,
        learning_rate=0.08,
        depth=6,
        auto_class_weights="Balanced",
        eval_metric="Logloss",
        od_type="Iter",
        od_wait=60,
        random_seed=seed,
        thread_count=thread_count,
        allow_writing_files=False,
        verbose=False,
    )
    model.fit(
        pool(rows["train"], train_df[LABEL].astype(int).tolist()),
        eval_set=pool(rows["valid"], valid_df[LABEL].astype(int).tolist()),
        use_best_model=True,
    )
    p_valid = model.predict_proba(pool(rows["valid"]))[:, 1]
    threshold = choose_threshold(valid_df[LABEL].astype(int).to_numpy(), p_valid)
    p_test = model.predict_proba(pool(rows["test"]))[:, 1]
    y_test = test_df[LABEL].astype(int).to_numpy()
    metrics = {
        "test": evaluate(y_test, p_test, threshold),
        "validation": evaluate(valid_df[LABEL].astype(int).to_numpy(), p_valid, threshold),
    }
    metadata = {
        "text_features": TEXT_FEATURES,
        "cat_features": CAT_FEATURES,
        "num_features": NUM_FEATURES,
        "positive_class": "rejected",
        "threshold": threshold,
        "threshold_objective": f"max recall of rejections with precision >= {PRECISION_FLOOR} on validation",
        "training_window": {"from": str(train_df["reviewed_at"].min()), "to": str(train_df["reviewed_at"].max())},
        "test_window": {"from": str(test_df["reviewed_at"].min()), "to": str(test_df["reviewed_at"].max())},
        "rows": {"train": len(train_df), "validation": len(valid_df), "test": len(test_df)},
        "best_iteration": int(model.get_best_iteration() or 0),
        "seed": seed,
        "data_fingerprint": fingerprint(data),
        "subcategory_flags": subcategory_flags(data),
        "metrics": metrics["test"],
    }
    test = pd.DataFrame(rows["test"], columns=FEATURES).assign(**{LABEL: y_test, "p_rejected": p_test})
    return TrainingResult(model, threshold, metrics, test, metadata)


def register(result: TrainingResult) -> str:
    """Save to the BentoML model store; returns the tag (name:version)."""
    import bentoml

    with bentoml.models.create(
        name=MODEL_NAME, labels={"stage": "candidate", "task": "offer-compliance"}, metadata=result.metadata
    ) as ref:
        result.model.save_model(str(Path(ref.path) / "model.cbm"), format="cbm")
        (Path(ref.path) / "metrics.json").write_text(json.dumps(result.metrics, indent=2))
    return str(ref.tag)
