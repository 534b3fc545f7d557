"""The platform's steps, shared by the CLI commands and the demo.

Each step is a plain function; the CLI wraps them in commands and the demo
runs them in order (`pcdata demo`). A failing step raises `StepFailed`
naming itself, so the CLI exits non-zero with one readable line.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from .settings import Settings

SANDBOX_PII_SALT = "sandbox-only-salt"  # the sandbox's world is fake: a fixed salt keeps reruns idempotent


class StepFailed(RuntimeError):
    def __init__(self, step: str, cause: BaseException | str):
        self.step = step
        super().__init__(f"step '{step}' failed: {cause}")


@contextmanager
def step(name: str):
    try:
        yield
    except StepFailed:
        raise
    except Exception as exc:
        raise StepFailed(name, f"{type(exc).__name__}: {exc}") from exc


def start_sandbox(settings: Settings, seed: int, scale: float):
    from ingestion.sandbox import server

    with step("sandbox"):
        return server.start(settings.sandbox_state, seed, scale)


def stop_sandbox(settings: Settings) -> bool:
    from ingestion.sandbox import server

    return server.stop(settings.sandbox_state)


def use_running_sandbox(settings: Settings) -> str | None:
    """Point every source at the running sandbox, if one runs; returns its URL."""
    from ingestion.sandbox import server

    handle = server.read_state(settings.sandbox_state)
    if handle is None:
        return None
    os.environ.update(handle.client_env())
    os.environ.setdefault("PII_SALT", SANDBOX_PII_SALT)
    return handle.base_url


def app_engine(settings: Settings) -> sa.Engine:
    from ingestion.appdb import start_embedded

    with step("app database"):
        return sa.create_engine(settings.app_db_url or start_embedded(settings.pgdata))


def load_app_database(settings: Settings, seed: int, scale: float, as_of: datetime | None = None) -> dict[str, int]:
    from ingestion.appdb import write_snapshot
    from ingestion.sandbox.world import build_world

    engine = app_engine(settings)
    with step("app database"):
        return write_snapshot(engine, build_world(seed, scale).snapshot(as_of))


def stop_app_database(settings: Settings) -> bool:
    from ingestion.appdb import stop_embedded

    return settings.app_db_url is None and stop_embedded(settings.pgdata)


def ingest(settings: Settings, sources: list[str], on_done=None) -> list:
    from ingestion.pipeline import Runner
    from ingestion.registry import in_load_order

    runner = Runner(settings)
    results = []
    for name in in_load_order(sources):
        with step(f"ingest {name}"):
            result = runner.run(name)
        results.append(result)
        if on_done:
            on_done(result)
    return results


def raw_row_counts(settings: Settings, sources: list[str]) -> dict[str, int]:
    """Rows now held per raw table (`dataset.table`), dlt's own tables left out."""
    from ingestion.pipeline import Runner
    from ingestion.registry import SOURCES

    runner = Runner(settings)
    counts = {}
    for name in sources:
        pipeline = runner.pipeline(name)
        if not pipeline.default_schema_name:
            continue
        for table, n in pipeline.dataset().row_counts().fetchall():
            if not table.startswith("_dlt"):
                counts[f"{SOURCES[name].dataset}.{table}"] = n
    return counts


def transform(settings: Settings, *dbt_args: str):
    from .transform import dbt

    with step("dbt build"):
        summary = dbt(settings, "build", *dbt_args)
    if not summary.success:
        raise StepFailed("dbt build", "; ".join(summary.failures[:5]) or "see the dbt log above")
    return summary


def _use_bentoml_store(settings: Settings) -> None:
    # BentoML reads BENTOML_HOME when first imported: set it before any bentoml import
    os.environ["BENTOML_HOME"] = str(settings.bentoml_home)
    settings.bentoml_home.mkdir(parents=True, exist_ok=True)


def train_compliance(settings: Settings, seed: int = 42) -> dict:
    """Train on the compliance mart, register the model, write the evaluation report."""
    _use_bentoml_store(settings)
    from models_ml.compliance.report import write_report
    from models_ml.compliance.train import register, train
    from models_ml.warehouse import read_mart

    with step("train compliance"):
        data = read_mart(settings, "marts_ml", "mrt_ml__compliance_training_offers")
        result = train(data, seed=seed)
        tag = register(result)
        report = write_report(result, settings.reports_dir / "compliance", tag)
    return {"tag": tag, "metrics": result.metrics["test"], "threshold": result.threshold, "report": report}


def build_bento(settings: Settings, service: str) -> str:
    """`bentoml build` of bentos/<service>/bentofile.yaml from the repo root; returns the bento tag."""
    _use_bentoml_store(settings)
    import bentoml

    from .settings import REPO

    with step(f"build {service} bento"):
        bento = bentoml.bentos.build_bentofile(str(REPO / "bentos" / service / "bentofile.yaml"), build_ctx=str(REPO))
    return str(bento.tag)


def serve_command(settings: Settings, service: str, port: int) -> tuple[list[str], dict]:
    """The `bentoml serve` command line and environment for a service (run by the CLI, tests, benchmarks)."""
    import sys

    from .settings import REPO

    env = {**os.environ, "BENTOML_HOME": str(settings.bentoml_home), "PYTHONPATH": str(REPO)}
    target = {"compliance": "bentos.compliance.service:Compliance"}[service]
    return [sys.executable, "-m", "bentoml", "serve", target, "--port", str(port), "--working-dir", str(REPO)], env
