"""The platform's steps, shared by the CLI commands and the sandbox demo.

Each step is a plain function; the CLI wraps them in commands. A failing step
raises `StepFailed` naming itself, so the CLI exits non-zero with one readable line.
"""

from __future__ import annotations

import os
import re
import socket
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


def ingest(
    settings: Settings,
    sources: list[str],
    on_done: Callable | None = None,
    *,
    workers: int | None = None,
    on_start: Callable[[str], None] | None = None,
    on_outcome: Callable | None = None,
) -> list:
    """Load `sources`, `workers` at a time (default: `pcdata.ingest_workers`), each after what it needs.

    `on_done(result)` for each source loaded, `on_outcome(outcome)` for each one ended (loaded, failed or
    not run), as they end. A failure does not stop the other sources: once all have ended, the step
    fails naming every source that failed (with its hint) and every one not run."""
    from ingestion.pipeline import Runner
    from ingestion.registry import in_load_order

    in_load_order(sources)  # an unknown name fails before anything runs (KeyError, as the CLI expects)
    runner = Runner(settings)
    workers = settings.ingest_workers if workers is None else workers

    def ended(outcome) -> None:
        if outcome.status == "loaded" and on_done is not None:
            on_done(outcome.result)
        if on_outcome is not None:
            on_outcome(outcome)

    with step("ingest"):
        outcomes = runner.run_all(sources, workers, on_start=on_start, on_outcome=ended)
    failed = [o for o in outcomes if o.status == "failed"]
    skipped = [o for o in outcomes if o.status == "skipped"]
    if not failed and not skipped:
        return [o.result for o in outcomes]
    causes = [ingest_failure(o.source, o.error) for o in failed]
    if skipped:
        causes.append(not_run(skipped))
    if len(failed) == 1 and not skipped:  # the one line a single failure always had
        raise StepFailed(f"ingest {failed[0].source}", causes[0]) from failed[0].error
    named = ", ".join(o.source for o in failed) or "interrupted"
    first = failed[0].error if failed else None
    raise StepFailed(f"ingest {named}", "; ".join(causes)) from first


def ingest_failure(source: str, exc: BaseException | None) -> str:
    """What a person reads about one failed source: its hint when there is one, else its cause."""
    if exc is None:
        return f"{source} failed"
    hint = _ingest_hint(source, exc)
    return hint if hint is not None else f"{type(exc).__name__}: {exc}"


def not_run(skipped: list) -> str:
    """The sources not run, grouped by the need that failed (or the interruption)."""
    by_need: dict[str, list[str]] = {}
    for outcome in skipped:
        by_need.setdefault(", ".join(n for n in outcome.blocked_by if n), []).append(outcome.source)
    return "; ".join(
        f"not run, {'as ' + need + ' did not load' if need else 'interrupted'}: {', '.join(names)}"
        for need, names in by_need.items()
    )


SANDBOX_HINT = 'or try it on the sandbox: `python -m sandbox start` then `eval "$(python -m sandbox env)"`'


def _ingest_hint(source: str, exc: BaseException) -> str | None:
    """One line for the failures a new user meets first: no credentials, or the sandbox not running."""
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    chain, seen = [], set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    missing = next((c for c in chain if isinstance(c, ConfigFieldMissingException)), None)
    if missing is not None:
        keys = [_env_key(field, traces) for field, traces in missing.traces.items()]
        return (
            f"{source} is not configured: set {', '.join(keys)} (environment, or .dlt/secrets.toml: "
            f"see .dlt/example.secrets.toml), {SANDBOX_HINT}"
        )
    base_url = _config(f"sources.{source}.base_url")
    refused = any(isinstance(c, OSError) or "ConnectionError" in str(c) for c in chain)
    if refused and base_url and re.match(r"https?://(127\.0\.0\.1|localhost)[:/]", base_url):
        return f"{source}: nothing answers at {base_url}: is the sandbox running? `python -m sandbox start`"
    return None


def _config(key: str) -> str | None:
    import dlt

    value: object = dlt.config.get(key) or dlt.secrets.get(key)
    return str(value) if value else None


def _env_key(field: str, traces: list) -> str:
    """The environment variable a person would set for a missing dlt field (`SOURCES__ZENDESK__API_TOKEN`)."""
    keys = [
        t.key
        for t in traces
        if t.key.startswith("SOURCES__") and all(a != b for a, b in zip(t.sections, t.sections[1:], strict=False))
    ]
    return max(keys, key=len) if keys else field


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


# a selection that matches nothing is an error, not an empty success
NO_MATCH_IS_ERROR = ("--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}')


def transform(settings: Settings, *dbt_args: str):
    from warehouse.dbt import dbt

    options = () if "--warn-error-options" in dbt_args else NO_MATCH_IS_ERROR
    with step("dbt build"):
        summary = dbt(settings, "build", *dbt_args, *options)
    unmatched = re.findall(r"selection criterion '([^']*)' does not match", " ".join(summary.failures))
    if unmatched or (summary.success and not summary.counts and dbt_args):
        named = ", ".join(f"'{u}'" for u in unmatched) or " ".join(dbt_args)
        raise StepFailed(
            "dbt build",
            f"{named} selects no model, seed or test of the dbt project: name one that exists, e.g. "
            "`pcdata transform --select mrt_regional__departments+` (models are under dbt_project/models)",
        )
    if not summary.success:
        raise StepFailed("dbt build", "; ".join(summary.failures[:5]) or "see the dbt log above")
    if settings.destination == "duckdb":
        import duckdb

        # write dbt's last changes from the WAL into the file: a copy of warehouse.duckdb alone (a backup,
        # an analyst's laptop, Metabase's read-only attach) then holds every mart
        with duckdb.connect(str(settings.warehouse)) as conn:
            conn.execute("checkpoint")
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


def train_recommendation(settings: Settings, seed: int = 42) -> dict:
    """Train and evaluate the recommender on the ml marts, register its bundle, write metrics.json and the report."""
    from models_ml.recommendation.pipeline import Params
    from models_ml.recommendation.report import write_report
    from models_ml.recommendation.train import read_marts, register, train
    from models_ml.store import use_store

    with step("train recommendation"):
        use_store(settings.bentoml_home)
        marts = read_marts(settings)
        trained = train(marts, Params(seed=seed))
        tag = register(trained, marts)
        report = write_report(trained.metrics, settings.reports_dir / "recommendation", tag)
    return {"tag": tag, "metrics": trained.metrics, "report": report}


def evaluate_recommendation(interactions: str, out: str, items: str | None = None, seed: int = 42) -> dict:
    """The recommender's training and offline evaluation on any interaction log (parquet or CSV)."""
    from pathlib import Path

    from models_ml.recommendation import data
    from models_ml.recommendation.pipeline import Params, evaluate
    from models_ml.recommendation.report import write_report

    with step("evaluate recommendation"):
        raw = data.read_table_file(Path(interactions))
        log = data.normalise(raw)
        features = data.item_features(raw)
        if items is not None:
            features = data.item_features(data.read_table_file(Path(items)))
        trained = evaluate(log, features if len(features.columns) > 1 else None, Params(seed=seed))
        report = write_report(trained.metrics, Path(out))
    return {"metrics": trained.metrics, "report": report, "metrics_file": Path(out) / "metrics.json"}


def build_bento(settings: Settings, service: str) -> str:
    """`bentoml build` of bentos/<service>/bentofile.yaml from the repo root; returns the bento tag."""
    import bentoml

    from models_ml.store import use_store

    with step(f"build {service} bento"):
        use_store(settings.bentoml_home)
        bento = bentoml.bentos.build_bentofile(str(REPO / "bentos" / service / "bentofile.yaml"), build_ctx=str(REPO))
    return str(bento.tag)


def check_can_serve(settings: Settings, service: str, port: int, host: str = "0.0.0.0") -> None:
    """What `bentoml serve` would otherwise fail on with a traceback: a busy port, no trained model."""
    from models_ml.compliance import MODEL_NAME

    if not port_is_free(port, host):
        free = next((p for p in range(port + 1, port + 50) if port_is_free(p, host)), 0)
        raise StepFailed(
            f"serve {service}",
            f"port {port} is already in use: run `pcdata serve {service} --port {free}`, or stop what listens on it",
        )
    model = {"compliance": MODEL_NAME}[service]
    if not (settings.bentoml_home / "models" / model / "latest").exists():
        raise StepFailed(
            f"serve {service}",
            f"no trained {service} model in the BentoML store {settings.bentoml_home}: "
            f"run `pcdata train {service}` first (after `pcdata transform`), or `make demo`",
        )


def port_is_free(port: int, host: str = "0.0.0.0") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no conflict
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def serve_command(settings: Settings, service: str, port: int) -> tuple[list[str], dict]:
    """The `bentoml serve` command line and environment for a service (run by the CLI, tests, benchmarks)."""
    env = {**os.environ, "BENTOML_HOME": str(settings.bentoml_home), "PYTHONPATH": str(REPO)}
    # the Recommendation API's served lists ("past offer context"), where the recommendation_logs source reads
    env.setdefault("RECOMMENDATION_LOG_DIR", str(settings.recommendation_log_dir))
    target = {
        "compliance": "bentos.compliance.service:Compliance",
        "recommendation": "bentos.recommendation.service:Recommendation",
    }[service]
    return [sys.executable, "-m", "bentoml", "serve", target, "--port", str(port), "--working-dir", str(REPO)], env
