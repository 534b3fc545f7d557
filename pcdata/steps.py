"""The platform's steps, shared by the CLI commands and the sandbox demo.

Each step is a plain function; the CLI wraps them in commands. A failing step
raises `StepFailed` naming itself, so the CLI exits non-zero with one readable line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from warehouse import REPO, Settings


class StepFailed(RuntimeError):
    def __init__(self, step: str, cause: BaseException | str):
        self.step = step
        super().__init__(f"step '{step}' failed: {cause}")


@contextmanager
def step(name: str) -> Iterator[None]:
    try:
        yield
    except StepFailed:
        raise
    except Exception as exc:
        raise StepFailed(name, f"{type(exc).__name__}: {exc}") from exc


def app_engine(settings: Settings) -> sa.Engine:
    from ingestion.embedded_postgres import app_database_url

    with step("app database"):
        return sa.create_engine(app_database_url(settings.pgdata))


def stop_app_database(settings: Settings) -> bool:
    """Stop the embedded app database, if that is the one in use."""
    from ingestion.embedded_postgres import configured_url, stop_embedded

    return configured_url() is None and stop_embedded(settings.pgdata)


def ingest(settings: Settings, sources: list[str], on_done: Callable | None = None) -> list:
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


def mart_row_counts(settings: Settings) -> dict[str, int]:
    """Rows per mart table (`marts_<domain>.<table>`), what analysts read."""
    from warehouse import query, table_name, tables

    return {
        f"{schema}.{table}": query(settings, f"select count(*) from {table_name(settings, schema, table)}")[0][0]
        for schema, table in tables(settings, f"{settings.schema_prefix}marts_")
    }


def transform(settings: Settings, *dbt_args: str):
    from warehouse.dbt import dbt

    with step("dbt build"):
        summary = dbt(settings, "build", *dbt_args)
    if not summary.success:
        raise StepFailed("dbt build", "; ".join(summary.failures[:5]) or "see the dbt log above")
    return summary


def quality_gate(settings: Settings, gate: str, names: list[str] | None = None, on_result: Callable | None = None):
    """Great Expectations' `raw` or `marts` gate; a blocking failure stops the run, naming what blocked it."""
    from quality.gate import marts_gate, raw_gate

    with step(f"quality {gate}"):
        result = raw_gate(settings, names) if gate == "raw" else marts_gate(settings, names)
    if on_result is not None:
        on_result(result)
    if not result.passed:
        named = "; ".join(f.line() for f in result.blocking[:5])
        more = f" (and {len(result.blocking) - 5} more)" if len(result.blocking) > 5 else ""
        raise StepFailed(f"quality {gate}", f"{named}{more}; Data Docs: {result.docs}")
    return result


def source_freshness(settings: Settings):
    """`dbt source freshness`: each raw table's last load against its vendor's schedule."""
    from warehouse.dbt import dbt

    with step("dbt source freshness"):
        summary = dbt(settings, "source", "freshness")
    if not summary.success:
        raise StepFailed("dbt source freshness", "; ".join(summary.failures[:5]) or "see the dbt log above")
    return summary


def train_compliance(settings: Settings, seed: int = 42) -> dict:
    """Train on the compliance mart, register the model, write the evaluation report."""
    from models_ml.compliance.report import write_report
    from models_ml.compliance.train import register, train
    from models_ml.store import use_store
    from warehouse import read_table

    with step("train compliance"):
        use_store(settings.bentoml_home)
        data = read_table(settings, "marts_ml", "mrt_ml__compliance_training_offers")
        result = train(data, seed=seed)
        tag = register(result)
        report = write_report(result, settings.reports_dir / "compliance", tag)
    return {"tag": tag, "metrics": result.metrics["test"], "threshold": result.threshold, "report": report}


def build_bento(settings: Settings, service: str) -> str:
    """`bentoml build` of bentos/<service>/bentofile.yaml from the repo root; returns the bento tag."""
    import bentoml

    from models_ml.store import use_store

    with step(f"build {service} bento"):
        use_store(settings.bentoml_home)
        bento = bentoml.bentos.build_bentofile(str(REPO / "bentos" / service / "bentofile.yaml"), build_ctx=str(REPO))
    return str(bento.tag)


def serve_command(settings: Settings, service: str, port: int) -> tuple[list[str], dict]:
    """The `bentoml serve` command line and environment for a service (run by the CLI, tests, benchmarks)."""
    env = {**os.environ, "BENTOML_HOME": str(settings.bentoml_home), "PYTHONPATH": str(REPO)}
    target = {"compliance": "bentos.compliance.service:Compliance"}[service]
    return [sys.executable, "-m", "bentoml", "serve", target, "--port", str(port), "--working-dir", str(REPO)], env
