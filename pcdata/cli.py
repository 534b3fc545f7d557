"""`pcdata`: one command line for every step of the platform.

    pcdata demo                      # everything, in order, on the sandbox
    pcdata sandbox start|stop|status
    pcdata appdb start|load|stop
    pcdata ingest app api_adresse    # or: pcdata ingest --all
    pcdata transform                 # dbt build
    pcdata train compliance          # CatBoost from the ML mart, into the BentoML store
    pcdata build compliance          # the bento
    pcdata serve compliance          # bentoml serve, on port 3000
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table

from . import steps
from .settings import Settings

console = Console()
DEFAULT_SEED, DEFAULT_SCALE = 42, 1.0


def _settings() -> Settings:
    return Settings.from_env()


@click.group()
def main() -> None:
    """pass Culture data platform: sandbox APIs -> dlt -> warehouse -> dbt."""


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    sys.exit(1)


# --- sandbox --------------------------------------------------------------------------
@main.group()
def sandbox() -> None:
    """The vendor sandboxes: one local HTTP server with every vendor's contract."""


@sandbox.command("start")
@click.option("--seed", default=DEFAULT_SEED, show_default=True)
@click.option("--scale", default=DEFAULT_SCALE, show_default=True)
def sandbox_start(seed: int, scale: float) -> None:
    try:
        handle = steps.start_sandbox(_settings(), seed, scale)
    except steps.StepFailed as exc:
        _fail(exc)
    console.print(f"sandbox running at {handle.base_url} (pid {handle.pid}, seed {seed}, scale {scale})")


@sandbox.command("stop")
def sandbox_stop() -> None:
    console.print("sandbox stopped" if steps.stop_sandbox(_settings()) else "no sandbox was running")


@sandbox.command("status")
def sandbox_status() -> None:
    from ingestion.sandbox import server

    handle = server.read_state(_settings().sandbox_state)
    console.print(f"running at {handle.base_url} (pid {handle.pid})" if handle else "not running")


# --- app database ---------------------------------------------------------------------
@main.group()
def appdb() -> None:
    """The app database (embedded PostgreSQL unless PCDATA_APP_DB_URL is set)."""


@appdb.command("start")
def appdb_start() -> None:
    engine = steps.app_engine(_settings())
    console.print(f"app database ready: {engine.url.render_as_string(hide_password=True)}")


@appdb.command("load")
@click.option("--seed", default=DEFAULT_SEED, show_default=True)
@click.option("--scale", default=DEFAULT_SCALE, show_default=True)
@click.option("--as-of", type=click.DateTime(), default=None, help="Write the world as it stood then.")
def appdb_load(seed: int, scale: float, as_of: datetime | None) -> None:
    try:
        counts = steps.load_app_database(_settings(), seed, scale, as_of)
    except steps.StepFailed as exc:
        _fail(exc)
    console.print("app database written: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


@appdb.command("stop")
def appdb_stop() -> None:
    console.print("app database stopped" if steps.stop_app_database(_settings()) else "no embedded app database was running")


# --- ingest and transform ---------------------------------------------------------------
@main.command()
@click.argument("sources", nargs=-1)
@click.option("--all", "all_sources", is_flag=True, help="Every registered source.")
def ingest(sources: tuple[str, ...], all_sources: bool) -> None:
    """Load SOURCES (names from `pcdata sources`) into their raw datasets."""
    from ingestion.registry import SOURCES

    names = list(SOURCES) if all_sources else list(sources)
    if not names:
        raise click.UsageError("name at least one source, or --all")
    settings = _settings()
    where = steps.use_running_sandbox(settings)
    console.print(f"sources read from the sandbox at {where}" if where else "sources read from their configured hosts")
    try:
        steps.ingest(settings, names, on_done=_print_load)
    except (steps.StepFailed, KeyError) as exc:
        _fail(exc)


@main.command("sources")
def list_sources() -> None:
    """The registered sources and their raw datasets."""
    from ingestion.registry import SOURCES

    for spec in SOURCES.values():
        console.print(f"[bold]{spec.name}[/] -> {spec.dataset}: {spec.description}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def transform(dbt_args: tuple[str, ...]) -> None:
    """dbt build on the warehouse (extra arguments go to dbt, e.g. --select marts)."""
    try:
        summary = steps.transform(_settings(), *dbt_args)
    except steps.StepFailed as exc:
        _fail(exc)
    console.print(f"dbt build: {summary.line()}")


@main.command()
@click.argument("model", type=click.Choice(["compliance"]))
@click.option("--seed", default=DEFAULT_SEED, show_default=True)
def train(model: str, seed: int) -> None:
    """Train MODEL from its mart, register it in the BentoML store, write its report."""
    try:
        trained = steps.train_compliance(_settings(), seed)
    except steps.StepFailed as exc:
        _fail(exc)
    _print_training(trained)


@main.command()
@click.argument("service", type=click.Choice(["compliance"]))
def build(service: str) -> None:
    """bentoml build of SERVICE (bentos/<service>/bentofile.yaml)."""
    try:
        console.print(f"bento built: {steps.build_bento(_settings(), service)}")
    except steps.StepFailed as exc:
        _fail(exc)


@main.command()
@click.argument("service", type=click.Choice(["compliance"]))
@click.option("--port", default=3000, show_default=True)
def serve(service: str, port: int) -> None:
    """bentoml serve SERVICE with the latest registered model (Ctrl-C to stop)."""
    import os

    command, env = steps.serve_command(_settings(), service, port)
    os.execvpe(command[0], command, env)


def _print_training(trained: dict) -> None:
    m = trained["metrics"]
    console.print(f"  model {trained['tag']}: balanced accuracy {m['balanced_accuracy']:.3f} "
                  f"(majority baseline {m['baseline_majority']['balanced_accuracy']:.2f}), ROC AUC {m['roc_auc']:.3f}, "
                  f"PR AUC {m['pr_auc']:.3f}, recall rejected {m['recall_rejected']:.3f} at precision {m['precision_rejected']:.3f} "
                  f"(threshold {trained['threshold']:.3f}, {m['n']} test reviews)")
    console.print(f"  report: {trained['report']}")


def _print_load(result) -> None:
    rows = ", ".join(f"{t} {n}" for t, n in sorted(result.rows_loaded.items())) or "nothing new"
    console.print(f"  {result.source} -> {result.dataset}: {rows} ({result.seconds:.1f}s)")


# --- demo -----------------------------------------------------------------------------------
@main.command()
@click.option("--seed", default=DEFAULT_SEED, show_default=True)
@click.option("--scale", default=DEFAULT_SCALE, show_default=True)
@click.option("--keep-running", is_flag=True, help="Leave the sandbox and app database up afterwards.")
def demo(seed: int, scale: float, keep_running: bool) -> None:
    """Everything in order: sandbox, app database, ingestion, dbt build, training, bentos, summary."""
    from ingestion.registry import SOURCES

    settings = _settings()
    timings: dict[str, float] = {}

    def timed(label: str, fn, *args, **kwargs):
        console.rule(f"[bold]{label}")
        started = time.monotonic()
        value = fn(*args, **kwargs)
        timings[label] = time.monotonic() - started
        return value

    try:
        handle = timed("1/6 sandbox APIs", steps.start_sandbox, settings, seed, scale)
        console.print(f"  vendors served at {handle.base_url}")
        counts = timed("2/6 app database", steps.load_app_database, settings, seed, scale)
        console.print("  " + ", ".join(f"{t} {n}" for t, n in counts.items()))
        steps.use_running_sandbox(settings)
        timed("3/6 ingestion (dlt)", steps.ingest, settings, list(SOURCES), _print_load)
        summary = timed("4/6 dbt build", steps.transform, settings)
        trained = timed("5/6 train compliance", steps.train_compliance, settings, seed)
        _print_training(trained)
        bento = timed("6/6 build bentos", steps.build_bento, settings, "compliance")
        console.print(f"  bento {bento}")
    except steps.StepFailed as exc:
        _fail(exc)
    finally:
        if not keep_running:
            steps.stop_sandbox(settings)
            steps.stop_app_database(settings)

    table = Table(title="raw tables", show_lines=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in sorted(steps.raw_row_counts(settings, list(SOURCES)).items()):
        table.add_row(name, str(n))
    console.print(table)
    console.print(f"dbt build: {summary.line()}")
    console.print(f"compliance model: {trained['tag']}, test balanced accuracy {trained['metrics']['balanced_accuracy']:.3f}; bento {bento}")
    console.print("timings: " + ", ".join(f"{k.split(' ', 1)[1]} {v:.1f}s" for k, v in timings.items()))
    console.print(f"warehouse: {settings.warehouse}")
    console.print("next: query marts_regional.mrt_regional__beneficiaries_monthly in that file (duckdb); "
                  f"read the model report {trained['report']}; `pcdata serve compliance` serves the Compliance API.")


if __name__ == "__main__":
    main()
