"""The evaluation report: metrics.json, four plots and an HTML page that shows them."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt
import numpy as np
from sklearn import metrics as skm

from .features import FEATURES, LABEL, pool
from .train import TrainingResult


def write_report(result: TrainingResult, out_dir: Path, model_tag: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    test = result.test
    y, p = test[LABEL].to_numpy(), test["p_rejected"].to_numpy()
    (out_dir / "metrics.json").write_text(
        json.dumps({"model_tag": model_tag, "threshold": result.threshold, **result.metrics}, indent=2)
    )

    cm = np.array(result.metrics["test"]["confusion_matrix"]["rows_true_cols_predicted"])
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center")
    ax.set_xticks([0, 1], ["validated", "rejected"])
    ax.set_yticks([0, 1], ["validated", "rejected"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("reviewed")
    ax.set_title("Confusion matrix (test)")
    _save(fig, out_dir / "confusion_matrix.png")

    precision, recall, _ = skm.precision_recall_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(recall, precision)
    ax.axhline(y.mean(), ls="--", c="grey", label="no-skill")
    ax.set_xlabel("recall (rejected)")
    ax.set_ylabel("precision (rejected)")
    ax.set_title(f"PR curve, AP = {result.metrics['test']['pr_auc']:.3f}")
    ax.legend()
    _save(fig, out_dir / "pr_curve.png")

    fig, ax = plt.subplots(figsize=(5, 4))
    bins = np.linspace(0, 1, 26).tolist()
    ax.hist(p[y == 0], bins=bins, alpha=0.6, density=True, label="validated")
    ax.hist(p[y == 1], bins=bins, alpha=0.6, density=True, label="rejected")
    ax.axvline(result.threshold, c="k", ls="--", label=f"threshold {result.threshold:.2f}")
    ax.set_xlabel("predicted probability of rejection")
    ax.set_title("Probability density per class (test)")
    ax.legend()
    _save(fig, out_dir / "probability_density.png")

    shap = result.model.get_feature_importance(pool(test[FEATURES].values.tolist()), type="ShapValues")[:, :-1]
    importance = np.abs(shap).mean(axis=0)
    order = np.argsort(importance)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.barh([FEATURES[i] for i in order], importance[order])
    ax.set_xlabel("mean |SHAP value| (log-odds)")
    ax.set_title("Feature importance (test)")
    _save(fig, out_dir / "shap_importance.png")

    rows = "".join(
        f"<tr><td>{k}</td><td>{v:.3f}</td></tr>" for k, v in result.metrics["test"].items() if isinstance(v, float)
    )
    (out_dir / "report.html").write_text(
        f"<html><head><meta charset='utf-8'><title>Compliance model {model_tag}</title></head><body>"
        f"<h1>Compliance model {model_tag}</h1><p>Threshold {result.threshold:.3f} "
        f"({result.metadata['threshold_objective']}); test reviews {result.metadata['test_window']['from']} to "
        f"{result.metadata['test_window']['to']}.</p><table border='1'>{rows}</table>"
        + "".join(
            f"<img src='{name}.png'>"
            for name in ("confusion_matrix", "pr_curve", "probability_density", "shap_importance")
        )
        + "</body></html>"
    )
    return out_dir / "report.html"


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
