"""Compliance API latency and throughput against a real `bentoml serve` (one worker).

Prints p50/p99 latency (sequential requests) and throughput (concurrent
clients) for: the scoring endpoint with SHAP, without SHAP, the batch endpoint
per row; beside them the floors measured in the same run: CatBoost's raw
`predict_proba` on one row and an empty BentoML endpoint.

Needs a trained model in the store: run `make demo` (or `pcdata train compliance`) first.
    .venv/bin/python benchmarks/compliance_latency.py [--requests 300] [--clients 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from warehouse import Settings  # noqa: E402

OFFER = {
    "offer_id": "1",
    "offer_name": "Lumière et nuit",
    "offer_description": "Édition de poche, disponible en magasin.",
    "offer_subcategory_id": "LIVRE_PAPIER",
    "rayon": "Romans et récits",
    "macro_rayon": "Littérature",
    "stock_price": 12.5,
    "stock_quantity": 20,
    "venue_department_code": "75",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(target: str, env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bentoml", "serve", target, "--port", str(port), "--working-dir", str(REPO)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if requests.get(f"{url}/readyz", timeout=5).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"{target} did not start; see {log}")


def latencies(call, n: int) -> list[float]:
    for _ in range(20):  # warm-up
        call()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        out.append((time.perf_counter() - t) * 1000)
    return out


def throughput(call, clients: int, seconds: float) -> float:
    deadline = time.perf_counter() + seconds

    def worker() -> int:
        done = 0
        while time.perf_counter() < deadline:
            call()
            done += 1
        return done

    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(lambda _: worker(), range(clients)))
    return total / seconds


def row(name: str, ms: list[float], per: int = 1, rps: float | None = None) -> None:
    ms = sorted(m / per for m in ms)
    p50, p99 = statistics.median(ms), ms[int(0.99 * (len(ms) - 1))]
    extra = f"{rps:8.1f} req/s" if rps is not None else " " * 14
    print(f"{name:<42} p50 {p50:8.3f} ms   p99 {p99:8.3f} ms   {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    settings = Settings.load()
    import bentoml

    from models_ml.store import use_store

    use_store(settings.bentoml_home)
    from catboost import CatBoostClassifier

    from models_ml.compliance import MODEL_NAME
    from models_ml.compliance.features import feature_rows, pool

    ref = bentoml.models.get(f"{MODEL_NAME}:latest")
    model = CatBoostClassifier()
    model.load_model(ref.path_of("model.cbm"))
    flags = ref.info.metadata.get("subcategory_flags")
    prebuilt = pool(feature_rows([OFFER], flags))
    print(
        f"model {ref.tag}; {args.requests} sequential requests, then {args.clients} clients for {args.seconds:.0f} s\n"
    )
    row(
        "floor: predict_proba, prebuilt 1-row Pool",
        latencies(lambda: model.predict_proba(prebuilt, thread_count=1), args.requests),
    )
    row(
        "floor: feature_rows + Pool + predict_proba",
        latencies(lambda: model.predict_proba(pool(feature_rows([OFFER], flags)), thread_count=1), args.requests),
    )
    row(
        "floor: + SHAP values",
        latencies(lambda: model.get_feature_importance(prebuilt, type="ShapValues", thread_count=1), args.requests),
    )

    env = {**os.environ, "PYTHONPATH": str(REPO), "BENTOML_HOME": str(settings.bentoml_home)}
    env.pop("COMPLIANCE_API_KEY", None)
    logs = Path(tempfile.mkdtemp(prefix="bench-"))
    http = requests.Session()
    empty_proc, empty_url = serve("benchmarks.empty_service:Empty", env, logs / "empty.log")
    try:
        call = lambda: http.post(f"{empty_url}/empty", json=OFFER, timeout=10)  # noqa: E731
        row(
            "floor: empty BentoML endpoint",
            latencies(call, args.requests),
            rps=throughput(call, args.clients, args.seconds),
        )
    finally:
        empty_proc.terminate()
        empty_proc.wait()

    proc, url = serve("bentos.compliance.service:Compliance", env, logs / "compliance.log")
    try:
        scoring = f"{url}/model/compliance/scoring"
        with_shap = lambda: http.post(scoring, json=OFFER, timeout=10)  # noqa: E731
        without = lambda: http.post(scoring, json={**OFFER, "explain": False}, timeout=10)  # noqa: E731
        batch_body = {"offers": [dict(OFFER, offer_id=str(i)) for i in range(args.batch)]}
        batch = lambda: http.post(f"{url}/model/compliance/scoring_batch", json=batch_body, timeout=30)  # noqa: E731
        row(
            "scoring, with SHAP",
            latencies(with_shap, args.requests),
            rps=throughput(with_shap, args.clients, args.seconds),
        )
        row(
            "scoring, without SHAP",
            latencies(without, args.requests),
            rps=throughput(without, args.clients, args.seconds),
        )
        row(
            f"batch of {args.batch}, per row (with SHAP)",
            latencies(batch, max(10, args.requests // 10)),
            per=args.batch,
        )
    finally:
        proc.terminate()
        proc.wait()
    print(f"\nserver logs: {logs}")


if __name__ == "__main__":
    main()
