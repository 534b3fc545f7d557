"""`pcdata`: one command line for every step of the platform.

    pcdata ingest app api_adresse    # or: pcdata ingest --all
    pcdata transform                 # dbt build
    pcdata train compliance          # CatBoost from the ML mart, into the BentoML store
    pcdata train recommendation      # retrieval + ranker from the ml marts, evaluated against baselines
    pcdata evaluate recommendation --interactions FILE --out DIR   # the same on any interaction log
    pcdata build compliance          # the bento
    pcdata serve compliance          # bentoml serve, on port 3000
    pcdata report regional           # a static HTML report (see pcdata/reports/)
    pcdata quality raw [SOURCE ...]  # Great Expectations gate on the raw datasets (exit 1 if blocked)
    pcdata quality marts             # and on the marts

The sandbox and the demo are not part of the product: `python -m sandbox --help`.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import NoReturn

import click
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner

from warehouse import Settings

from . import steps

console = Console()
DEFAULT_SEED = 42


def _settings() -> Settings:
    return Settings.load()


@click.group()
def main() -> None:
    """pass Culture data platform: vendor APIs -> dlt -> warehouse -> dbt -> models."""


def fail(exc: Exception) -> NoReturn:
    """One line, never wrapped (what happened and what to run), then exit 1."""
    line = " ".join(str(exc).split())
    console.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True, highlight=False)
    sys.exit(1)


# --- ingest and transform ---------------------------------------------------------------
@main.command()
@click.argument("sources", nargs=-1)
@click.option("--all", "all_sources", is_flag=True, help="Every registered source.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Sources loading at once (default: pcdata.ingest_workers); 1: one after another.",
)
def ingest(sources: tuple[str, ...], all_sources: bool, workers: int | None) -> None:
    """Load SOURCES (names from `pcdata sources`) into their raw datasets, several at once."""
    from ingestion.registry import SOURCES

    names = list(SOURCES) if all_sources else list(sources)
    if not names:
        raise click.UsageError("name at least one source, or --all")
    try:
        ingest_with_progress(_settings(), names, workers)
    except (steps.StepFailed, KeyError) as exc:
        fail(exc)


def ingest_with_progress(settings: Settings, names: list[str], workers: int | None = None) -> list:
    """`steps.ingest` with each source's line as it ends and, on a terminal, a live line of those running."""
    progress = IngestProgress(len(names))
    with progress.live:
        return steps.ingest(settings, names, workers=workers, on_start=progress.start, on_outcome=progress.ended)


class IngestProgress:
    """What the ingestion step shows: one line per source as it ends (loaded, failed, not run), and,
    while a terminal watches, a transient line of the sources running and for how long."""

    def __init__(self, total: int):
        self.total = total
        self.running: dict[str, float] = {}  # source -> when it started; written by the sources' threads
        self.lock = threading.Lock()  # and read by the live display's
        self.ended_count = {"loaded": 0, "failed": 0, "skipped": 0}
        self.live = Live(self, console=console, transient=True, refresh_per_second=4)

    def start(self, source: str) -> None:
        with self.lock:
            self.running[source] = time.monotonic()

    def ended(self, outcome) -> None:
        with self.lock:
            self.running.pop(outcome.source, None)
        self.ended_count[outcome.status] += 1
        if outcome.status == "loaded":
            print_load(outcome.result)
        elif outcome.status == "failed":
            line = steps.ingest_failure(outcome.source, outcome.error)
            console.print(f"  [red]{outcome.source} failed[/] ({outcome.seconds:.1f}s): {escape(line)}", soft_wrap=True)
        else:
            console.print(f"  [yellow]{outcome.source} not run[/]: {escape(steps.not_run([outcome]))}")

    def __rich__(self) -> Spinner:
        now = time.monotonic()
        with self.lock:
            started = sorted(self.running.items(), key=lambda item: item[1])
        running = ", ".join(f"{source} {now - at:.0f}s" for source, at in started)
        done = sum(self.ended_count.values())
        failed = f", {self.ended_count['failed']} failed" if self.ended_count["failed"] else ""
        return Spinner("dots", f"{done}/{self.total} ended{failed}; running: {running or 'starting'}")


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
        fail(exc)
    console.print(f"dbt build: {summary.line()}")


@main.command()
@click.argument("model", type=click.Choice(["compliance", "recommendation"]))
@click.option("--seed", default=DEFAULT_SEED, show_default=True)
def train(model: str, seed: int) -> None:
    """Train MODEL from its mart, register it in the BentoML store, write its report."""
    try:
        if model == "recommendation":
            print_recommendation(steps.train_recommendation(_settings(), seed))
            return
        trained = steps.train_compliance(_settings(), seed)
    except steps.StepFailed as exc:
        fail(exc)
    print_training(trained)


@main.command()
@click.argument("model", type=click.Choice(["recommendation"]))
@click.option("--interactions", required=True, type=click.Path(dir_okay=False), help="Parquet or CSV log.")
@click.option("--items", type=click.Path(dir_okay=False), help="Optional item features (parquet or CSV).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for metrics.json and the report.")
@click.option("--seed", default=DEFAULT_SEED, show_default=True)
def evaluate(model: str, interactions: str, items: str | None, out: str, seed: int) -> None:
    """Train and evaluate MODEL on an interaction log (user_id, item_id, event_type, event_at), with baselines."""
    try:
        print_recommendation(steps.evaluate_recommendation(interactions, out, items, seed))
    except steps.StepFailed as exc:
        fail(exc)


@main.command()
@click.argument("service", type=click.Choice(["compliance", "recommendation"]))
def build(service: str) -> None:
    """bentoml build of SERVICE (bentos/<service>/bentofile.yaml)."""
    try:
        console.print(f"bento built: {steps.build_bento(_settings(), service)}")
    except steps.StepFailed as exc:
        fail(exc)


@main.command()
@click.argument("service", type=click.Choice(["compliance", "recommendation"]))
@click.option("--port", default=3000, show_default=True)
def serve(service: str, port: int) -> None:
    """bentoml serve SERVICE with the latest registered model (Ctrl-C to stop)."""
    import os

    settings = _settings()
    try:
        steps.check_can_serve(settings, service, port)
    except steps.StepFailed as exc:
        fail(exc)
    command, env = steps.serve_command(settings, service, port)
    os.execvpe(command[0], command, env)


@main.command()
@click.argument("name")
def report(name: str) -> None:
    """Write the static HTML report NAME under the reports folder (see `pcdata.reports`)."""
    from . import reports

    try:
        with steps.step(f"report {name}"):
            path = reports.write(_settings(), name)
    except steps.StepFailed as exc:
        fail(exc)
    console.print(f"report written: {path}")


# --- quality gates -------------------------------------------------------------------------
@main.group()
def quality() -> None:
    """Great Expectations gates: `raw` after ingestion, `marts` after dbt (exit 1 on a blocking failure)."""


@quality.command("raw")
@click.argument("sources", nargs=-1)
def quality_raw(sources: tuple[str, ...]) -> None:
    """Validate the raw datasets of SOURCES (default: every loaded source)."""
    _gate("raw", list(sources) or None)


@quality.command("marts")
@click.argument("marts", nargs=-1)
def quality_marts(marts: tuple[str, ...]) -> None:
    """Validate the marts of the dbt project (default: all; or MARTS: model names or mart schemas)."""
    _gate("marts", list(marts) or None)


def _gate(gate: str, names: list[str] | None) -> None:
    def show(result) -> None:
        for line in result.lines():
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.print(f"Data Docs: {result.docs}")

    try:
        steps.quality_gate(_settings(), gate, names, on_result=show)
    except steps.StepFailed as exc:
        fail(exc)


def print_training(trained: dict) -> None:
    m = trained["metrics"]
    console.print(
        f"  model {trained['tag']}: balanced accuracy {m['balanced_accuracy']:.3f} "
        f"(majority baseline {m['baseline_majority']['balanced_accuracy']:.2f}), ROC AUC {m['roc_auc']:.3f}, "
        f"PR AUC {m['pr_auc']:.3f}, recall rejected {m['recall_rejected']:.3f} "
        f"at precision {m['precision_rejected']:.3f} "
        f"(threshold {trained['threshold']:.3f}, {m['n']} test reviews)"
    )
    console.print(f"  report: {trained['report']}")


def print_recommendation(trained: dict) -> None:
    from models_ml.recommendation.metrics import KS
    from models_ml.recommendation.pipeline import METHODS

    models = trained["metrics"]["models"]
    if trained.get("tag"):
        console.print(f"  model {trained['tag']}")
    for k in KS:
        console.print(
            f"  @{k}: "
            + "; ".join(
                f"{m} ndcg {models[m][f'@{k}']['ndcg']:.4f} map {models[m][f'@{k}']['map']:.4f}"
                f" recall {models[m][f'@{k}']['recall']:.4f}"
                for m in METHODS
            ),
            soft_wrap=True,
        )
    console.print(f"  report: {trained['report']}")


def print_load(result) -> None:
    rows = ", ".join(f"{t} {n}" for t, n in sorted(result.rows_loaded.items())) or "nothing new"
    console.print(f"  {result.source} -> {result.dataset}: {rows} ({result.seconds:.1f}s)")


if __name__ == "__main__":
    main()
