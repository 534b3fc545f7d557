"""Recommendation API latency, throughput and memory against a real `bentoml serve` (one worker).

Prints p50/p99 latency (sequential requests) and throughput (concurrent clients) of
`POST /playlist_recommendation/{user_id}` (warm users, unknown users) and `GET /similar_offers/{offer_id}`,
beside the floor measured in the same run (an empty BentoML endpoint), and the resident memory of the
service's process tree once warm. Catalogue: the bundle in the store (the demo's, `make demo` first), or
with `--generated OFFERS USERS` a generated one of that size (benchmarks/generated_catalogue.py) in a store
of its own.

    .venv/bin/python benchmarks/recommendation_latency.py [--requests 200] [--clients 8] [--seconds 10]
    .venv/bin/python benchmarks/recommendation_latency.py --generated 1000000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from warehouse import Settings  # noqa: E402


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(target: str, env: dict, log: Path, ready_within: float = 180) -> tuple[subprocess.Popen, str]:
    port = _port()
    with log.open("w") as out:  # a file, never an undrained pipe
        proc = subprocess.Popen(
            [sys.executable, "-m", "bentoml", "serve", target, "--port", str(port), "--working-dir", str(REPO)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_within
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"not ready after {ready_within:.0f} s: {log}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def rss_mib(proc: subprocess.Popen) -> float:
    parent = psutil.Process(proc.pid)
    return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20


def latency(call: Callable[[int], None], n: int) -> dict:
    times = []
    for i in range(n):
        started = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))]}


def throughput(call: Callable[[int], None], clients: int, seconds: float) -> float:
    stop_at = time.monotonic() + seconds
    counter = [0]

    def worker(k: int) -> int:
        done = 0
        while time.monotonic() < stop_at:
            call(k * 100_000 + done)
            done += 1
        return done

    with ThreadPoolExecutor(clients) as pool:
        counter[0] = sum(pool.map(worker, range(clients)))
    return counter[0] / seconds


def checked(response: requests.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--generated", type=int, nargs=2, metavar=("OFFERS", "USERS"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="reco-bench-"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "RECOMMENDATION_LOG_DIR": str(work / "logs")}
    if args.generated:
        from benchmarks.generated_catalogue import build_store, generate

        started = time.perf_counter()
        marts = generate(*args.generated)
        print(f"generated in {time.perf_counter() - started:.1f} s: {len(marts['interactions'])} interactions")
        tag, timings = build_store(marts, work / "bentoml")
        print(f"{tag}: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        users, offers_frame, env["BENTOML_HOME"] = marts["users"], marts["offers"], str(work / "bentoml")
        del marts
    else:
        from warehouse import read_table

        settings = Settings.load()
        users = read_table(settings, "marts_ml", "mrt_ml__recommendation_user_features")
        offers_frame = read_table(settings, "marts_ml", "mrt_ml__recommendation_offer_features")
        env["BENTOML_HOME"] = str(settings.bentoml_home)
    warm = users[(users["booking_count"] >= 2) & users["approx_latitude"].notna()]
    offers = offers_frame["offer_id"].astype(str).tolist()
    rng = random.Random(0)
    warm_rows = [(str(r.user_id), float(r.approx_latitude), float(r.approx_longitude)) for r in warm.itertuples()]
    rng.shuffle(warm_rows)
    rng.shuffle(offers)

    session = requests.Session()
    results: dict[str, dict] = {}

    proc, url = start("benchmarks.empty_service:Empty", env, work / "empty.log")
    try:

        def empty(i: int) -> None:
            checked(session.post(f"{url}/empty", json={}, timeout=10))

        results["empty endpoint (floor)"] = {
            **latency(empty, args.requests),
            "rps": throughput(empty, args.clients, args.seconds),
        }
    finally:
        stop(proc)

    proc, url = start("bentos.recommendation.service:Recommendation", env, work / "reco.log")
    try:
        idle = rss_mib(proc)

        def playlist(i: int) -> None:
            user, lat, lon = warm_rows[i % len(warm_rows)]
            checked(
                session.post(
                    f"{url}/playlist_recommendation/{user}",
                    params={"latitude": lat, "longitude": lon},
                    json={},
                    timeout=10,
                )
            )

        def cold(i: int) -> None:
            checked(
                session.post(
                    f"{url}/playlist_recommendation/new-{i}",
                    params={"latitude": 48.85, "longitude": 2.35},
                    json={},
                    timeout=10,
                )
            )

        def similar(i: int) -> None:
            checked(
                session.get(
                    f"{url}/similar_offers/{offers[i % len(offers)]}",
                    params={"latitude": 48.85, "longitude": 2.35},
                    timeout=10,
                )
            )

        for name, call in (
            ("playlist, warm users", playlist),
            ("playlist, unknown users", cold),
            ("similar_offers", similar),
        ):
            call(0)  # warm-up
            results[name] = {**latency(call, args.requests), "rps": throughput(call, args.clients, args.seconds)}
        warm_rss = rss_mib(proc)
    finally:
        stop(proc)

    print(f"catalogue: {len(offers)} offers, {len(users)} users ({len(warm_rows)} warm with a location)")
    how = f"({args.requests} sequential, {args.clients} clients x {args.seconds:.0f} s)"
    print(f"{'endpoint':28s} {'p50 ms':>8s} {'p99 ms':>8s} {'req/s':>8s}   {how}")
    for name, r in results.items():
        print(f"{name:28s} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['rps']:8.1f}")
    print(f"service memory (RSS, process tree): {idle:.0f} MiB ready, {warm_rss:.0f} MiB after the run")
    (work / "results.json").write_text(
        json.dumps({"results": results, "rss_mib": {"ready": idle, "after": warm_rss}}, indent=2)
    )
    print(f"figures: {work / 'results.json'}")


if __name__ == "__main__":
    main()
