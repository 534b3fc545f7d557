"""The offline evaluation report: metrics.json, plots and an HTML page, model beside every baseline."""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt

from .metrics import KS
from .pipeline import METHODS

LABELS = {
    "ranker": "ranker (CatBoost)",
    "ranker_diversified": "ranker + diversification",
    "cooccurrence": "co-occurrence alone",
    "latent_factors": "latent factors alone",
    "recent_popularity": "recent popularity",
    "popularity": "all-time popularity",
    "random": "random",
}
MEASURES = ("precision", "recall", "ndcg", "map", "coverage", "novelty")


def write_metrics(metrics: dict, out_dir: Path, model_tag: str | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "metrics.json"
    path.write_text(json.dumps({"model_tag": model_tag, **metrics}, indent=2, default=str))
    return path


def write_report(metrics: dict, out_dir: Path, model_tag: str | None = None) -> Path:
    """metrics.json, one bar chart per measure and at-k, feature importance, and index.html."""
    write_metrics(metrics, out_dir, model_tag)
    models = metrics["models"]
    methods = [m for m in METHODS if m in models]
    for k in KS:
        fig, axes = plt.subplots(2, 3, figsize=(13, 7))
        for ax, measure in zip(axes.ravel(), MEASURES, strict=True):
            values = [models[m][f"@{k}"][measure] for m in methods]
            colours = ["tab:blue" if m.startswith("ranker") else "tab:grey" for m in methods]
            ax.barh([LABELS[m] for m in methods][::-1], values[::-1], color=colours[::-1])
            ax.set_title(f"{measure}@{k}")
        fig.suptitle(f"Offline evaluation at {k}: model (blue) and baselines (grey)")
        _save(fig, out_dir / f"metrics_at_{k}.png")

    importance = metrics.get("ranker", {}).get("feature_importance", {})
    if importance:
        names = list(importance)[:15][::-1]
        fig, ax = plt.subplots(figsize=(7, 5))
        ax.barh(names, [importance[n] for n in names])
        ax.set_title("Ranker feature importance (PredictionValuesChange)")
        _save(fig, out_dir / "feature_importance.png")

    rows = []
    for m in methods:
        cells = "".join(
            f"<td>{models[m][f'@{k}'][measure]:.4f}</td>"
            for k in KS
            for measure in ("precision", "recall", "ndcg", "map")
        )
        extra = "".join(f"<td>{models[m][f'@{k}'][x]:.3f}</td>" for k in KS for x in ("coverage", "novelty"))
        rows.append(f"<tr><th>{html.escape(LABELS[m])}</th>{cells}{extra}</tr>")
    head = "".join(f"<th>{x}@{k}</th>" for k in KS for x in ("P", "R", "NDCG", "MAP"))
    head += "".join(f"<th>{x}@{k}</th>" for k in KS for x in ("coverage", "novelty"))
    data = metrics["data"]
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Recommendation: offline evaluation</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th:first-child{{text-align:left}}</style></head>
<body>
<h1>Recommendation: offline evaluation</h1>
<p>Model {html.escape(str(model_tag or "not registered"))}. {data["interactions"]} interactions, {data["users"]} users,
{data["items"]} items ({", ".join(data["item_features"]) or "no item features"}), window {data["window"]["from"]}
to {data["window"]["to"]}; {data["evaluated_users"]} users evaluated{_sampled(data)}
on {data["test_items"]} held-out items.</p>
<p>Protocol: {html.escape(metrics["protocol"]["split"])}. Relevance: {html.escape(metrics["protocol"]["relevance"])}.
Candidates: {html.escape(metrics["protocol"]["candidates_per_user"])}.
{html.escape(metrics["protocol"].get("sampling", ""))}.</p>
<table><tr><th>method</th>{head}</tr>
{"".join(rows)}
</table>
{"".join(f'<h2>At {k}</h2><img src="metrics_at_{k}.png" width="1000">' for k in KS)}
{'<h2>Ranker features</h2><img src="feature_importance.png">' if importance else ""}
<p>Timings (s): {html.escape(json.dumps(metrics.get("timings", {})))}</p>
</body></html>
"""
    path = out_dir / "index.html"
    path.write_text(page)
    return path


def _sampled(data: dict) -> str:
    evaluable = data.get("evaluable_users", data["evaluated_users"])
    return f" (a seeded sample of the {evaluable} with held-out items)" if evaluable > data["evaluated_users"] else ""


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def summary_line(metrics: dict, k: int = 10) -> str:
    """One line: NDCG@k of the model beside every baseline (the demo and the CLI print it)."""
    models = metrics["models"]
    parts = [f"{m} {models[m][f'@{k}']['ndcg']:.4f}" for m in METHODS if m in models]
    return f"NDCG@{k}: " + ", ".join(parts)
