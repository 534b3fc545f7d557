"""The recommender's training on demo warehouses: seconds per phase and peak memory, beside a floor.

    python -m benchmarks.recommendation_training /tmp/home-s1 /tmp/copy-s20/warehouse.duckdb
    python -m benchmarks.recommendation_training WAREHOUSE --eval-users 0 --ranker-users 0   # no sampling

Each argument is a pcdata home (its warehouse.duckdb) or a warehouse file; it is opened read-only. Per
warehouse, two child processes, one after the other, each reporting its own peak RSS:
- floor: the least any training must do: the interactions and offer marts read into pandas, and one
  sparse users x items matrix built from them;
- training: what `pcdata train recommendation` does short of the BentoML store: the three ml marts
  read, `train.train` (split, ranker for the evaluation, retrieval refit, baselines, ranker lists,
  metrics, the served ranker and retrieval), then the bundle written to a temporary folder.
The table gives the marts' rows, the seconds of each phase and in all, and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCHEMA = "marts_ml"
PHASES = [  # (label, key in the child's figures)
    ("read", "read_s"),
    ("normalise", "normalise_s"),
    ("ranker: retrieval", "ranker_retrieval_s"),
    ("ranker: candidates", "ranker_candidates_s"),
    ("ranker: catboost", "ranker_catboost_s"),
    ("eval retrieval", "retrieval_fit_s"),
    ("baselines", "baselines_s"),
    ("ranker lists", "ranker_predict_s"),
    ("metrics", "metrics_s"),
    ("served ranker", "final_ranker_s"),
    ("served retrieval", "final_retrieval_s"),
    ("bundle", "bundle_s"),
]


def _warehouse(arg: str) -> Path:
    path = Path(arg)
    return path / "warehouse.duckdb" if path.is_dir() else path


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def _read(warehouse: Path, tables: dict[str, str]) -> dict:
    """The marts as `train.read_marts` reads them (its columns), from a warehouse file opened read-only."""
    import duckdb

    from models_ml.recommendation.train import COLUMNS

    def select(name: str) -> str:
        return ", ".join(COLUMNS[name] or ["*"])

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {n: conn.execute(f'select {select(n)} from {SCHEMA}."{t}"').df() for n, t in tables.items()}


def floor(warehouse: Path) -> dict:
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    from models_ml.recommendation.train import TABLES

    started = time.perf_counter()
    marts = _read(warehouse, {k: TABLES[k] for k in ("interactions", "offers")})
    log = marts["interactions"]
    users, user_codes = pd.factorize(log["user_id"])[::-1]
    items, item_codes = pd.factorize(log["offer_id"])[::-1]
    matrix = sp.csr_matrix((np.ones(len(log), np.float32), (user_codes, item_codes)), shape=(len(users), len(items)))
    matrix.sum_duplicates()
    return {
        "total_s": time.perf_counter() - started,
        "peak_gib": _peak_gib(),
        "interactions": len(log),
        "users": len(users),
        "items": len(items),
        "offers": len(marts["offers"]),
    }


def training(warehouse: Path, params: dict) -> dict:
    from models_ml.recommendation import data, pipeline, train

    started = time.perf_counter()
    figures: dict = {}
    t = time.perf_counter()
    marts = _read(warehouse, train.TABLES)
    figures["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    log, items = data.from_marts(marts["interactions"], marts["offers"])
    figures["normalise_s"] = time.perf_counter() - t
    trained = pipeline.evaluate(log, items, pipeline.Params(**params))
    figures.update(trained.metrics["timings"])
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reco-bundle-") as folder:
        train.write_bundle(trained, marts, Path(folder))
    figures["bundle_s"] = time.perf_counter() - t
    figures["total_s"] = time.perf_counter() - started
    figures["peak_gib"] = _peak_gib()
    data_ = trained.metrics["data"]
    figures["evaluated_users"] = data_["evaluated_users"]
    figures["evaluable_users"] = data_.get("evaluable_users", data_["evaluated_users"])
    figures["ranker_rows"] = trained.metrics["ranker"].get("evaluated", {}).get("rows", 0)
    figures["ndcg10"] = {m: round(v["@10"]["ndcg"], 4) for m, v in trained.metrics["models"].items()}
    return figures


def _child(kind: str, warehouse: Path, params: dict) -> dict:
    command = [sys.executable, "-m", "benchmarks.recommendation_training", "--child", kind, str(warehouse)]
    command += ["--params", json.dumps(params)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} on {warehouse} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(rows: list[tuple[Path, dict, dict]]) -> None:
    print()
    names = [w.parent.name if w.name == "warehouse.duckdb" else w.stem for w, _, _ in rows]
    print(f"{'':26}" + "".join(f"{name[-14:]:>16}" for name in names))
    known = {key for _, key in PHASES} | {"total_s", "split_s", "ranker_fit_s"}
    lines = [
        ("interactions", lambda f, t: f"{f['interactions']:,}"),
        ("users", lambda f, t: f"{f['users']:,}"),
        ("items (offers)", lambda f, t: f"{f['items']:,} ({f['offers']:,})"),
        ("evaluated / evaluable", lambda f, t: f"{t['evaluated_users']:,}/{t['evaluable_users']:,}"),
        ("ranker rows", lambda f, t: f"{t['ranker_rows']:,}"),
        ("floor s", lambda f, t: f"{f['total_s']:.1f}"),
        ("floor peak GiB", lambda f, t: f"{f['peak_gib']:.2f}"),
        *((f"{label} s", lambda f, t, key=key: f"{t.get(key, 0.0):.1f}") for label, key in PHASES),
        *(  # phases another version of the pipeline times under other names
            (f"{key} s", lambda f, t, key=key: f"{t.get(key, 0.0):.1f}")
            for key in sorted({k for _, _, t in rows for k in t if k.endswith("_s")} - known)
        ),
        ("training s", lambda f, t: f"{t['total_s']:.1f}"),
        ("training / floor", lambda f, t: f"{t['total_s'] / max(f['total_s'], 1e-9):.1f}x"),
        ("training peak GiB", lambda f, t: f"{t['peak_gib']:.2f}"),
        ("NDCG@10 ranker", lambda f, t: f"{t['ndcg10']['ranker']:.4f}"),
        ("NDCG@10 popularity", lambda f, t: f"{t['ndcg10']['popularity']:.4f}"),
        ("NDCG@10 co-occurrence", lambda f, t: f"{t['ndcg10']['cooccurrence']:.4f}"),
    ]
    for label, cell in lines:
        print(f"{label:26}" + "".join(f"{cell(f, t):>16}" for _, f, t in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("warehouses", nargs="+", help="pcdata homes or warehouse.duckdb files (read-only)")
    parser.add_argument("--iterations", type=int, default=None, help="ranker iterations (default: Params')")
    parser.add_argument("--eval-users", type=int, default=None, help="evaluated users, 0 = all (default: Params')")
    parser.add_argument("--ranker-users", type=int, default=None, help="users per ranker, 0 = all (default: Params')")
    parser.add_argument("--seed", type=int, default=42, help="the seed `pcdata train recommendation` uses")
    parser.add_argument("--child", choices=("floor", "training"), help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        warehouse = _warehouse(args.warehouses[0])
        figures = floor(warehouse) if args.child == "floor" else training(warehouse, json.loads(args.params))
        print(json.dumps(figures, default=str))
        return
    params = {"seed": args.seed}
    for key in ("iterations", "eval_users", "ranker_users"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    rows = []
    for arg in args.warehouses:
        warehouse = _warehouse(arg)
        f = _child("floor", warehouse, params)
        print(f"{warehouse}: floor {f['total_s']:.1f} s, {f['peak_gib']:.2f} GiB", flush=True)
        t = _child("training", warehouse, params)
        print(f"{warehouse}: training {t['total_s']:.1f} s, {t['peak_gib']:.2f} GiB", flush=True)
        rows.append((warehouse, f, t))
    report(rows)


if __name__ == "__main__":
    main()
