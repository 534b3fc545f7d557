"""`python -m sandbox`: the vendor sandboxes, the app database written from the world, and the demo.

python -m sandbox start|stop|status [--seed 42 --scale 1.0 --vendor-tier standard|high-volume]
python -m sandbox appdb load|stop    # the world written into the app database (and Metabase's)
eval "$(python -m sandbox env)"      # point `pcdata` at the running sandbox (sandbox mode)
python -m sandbox demo               # everything, in order, with a summary
"""

from __future__ import annotations

import shlex
import time
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table

from pcdata import steps
from pcdata.cli import fail, ingest_with_progress, print_recommendation, print_training
from sandbox import demo_home, server
from sandbox.config import sandbox_config, use
from sandbox.framework import VENDOR_TIERS
from warehouse import Settings

console = Console()
DEFAULT_SEED, DEFAULT_SCALE = 42, 1.0
vendor_tier_option = click.option(
    "--vendor-tier",
    type=click.Choice(VENDOR_TIERS),
    default="standard",
    show_default=True,
    help="The vendors' plans the sandbox stands for: their default limits, or their high-volume plans "
    "(Zendesk's High Volume API, Brevo's rate limit add-on, a large Instagram account), which a first load "
    "above scale 30 needs "
    "(Brevo's 300 event pages an hour).",
)


@click.group()
def main() -> None:
    """Test and demo equipment: every vendor's sandbox on 127.0.0.1, served from one seeded world."""


@main.command()
@click.option("--seed", default=DEFAULT_SEED, show_default=True)
@click.option("--scale", default=DEFAULT_SCALE, show_default=True)
@vendor_tier_option
def start(seed: int, scale: float, vendor_tier: str) -> None:
    """Start the vendor sandboxes (one local server)."""
    settings = Settings.load()
    running = server.read_state(settings.sandbox_state)
    if running is not None:  # replacing it would pull the world from under whoever uses it
        fail(
            RuntimeError(
                f"a sandbox already runs at {running.base_url} (pid {running.pid}, seed {running.seed}, "
                f"scale {running.scale}): use it, or stop it first with `python -m sandbox stop`"
            )
        )
    try:
        demo_home.check_world(settings, seed, scale)  # its vendors would load another world into this warehouse
        handle = start_sandbox(settings, seed, scale, vendor_tier)
    except (demo_home.DemoRefused, steps.StepFailed) as exc:
        fail(exc)
    console.print(
        f"sandbox running at {handle.base_url} (pid {handle.pid}, seed {seed}, scale {scale}, {vendor_tier} plans)"
    )


@main.command()
def stop() -> None:
    console.print("sandbox stopped" if server.stop(Settings.load().sandbox_state) else "no sandbox was running")


@main.command()
def status() -> None:
    handle = server.read_state(Settings.load().sandbox_state)
    console.print(f"running at {handle.base_url} (pid {handle.pid})" if handle else "not running")


@main.command()
def env() -> None:
    """Print the dlt configuration of sandbox mode as shell `export` lines."""
    settings = Settings.load()
    handle = server.read_state(settings.sandbox_state)
    if handle is None:
        fail(RuntimeError("no sandbox is running: start one with `python -m sandbox start`"))
    for key, value in sandbox_config(handle, steps.app_engine(settings)).items():
        click.echo(f"export {key}={shlex.quote(value)}")


@main.group()
def appdb() -> None:
    """The app database (embedded PostgreSQL unless sources.app.credentials is set), written from the world."""


@appdb.command("load")
@click.option("--seed", default=DEFAULT_SEED, show_default=True)
@click.option("--scale", default=DEFAULT_SCALE, show_default=True)
@click.option("--as-of", type=click.DateTime(), default=None, help="Write the world as it stood then.")
def appdb_load(seed: int, scale: float, as_of: datetime | None) -> None:
    settings = Settings.load()
    try:
        demo_home.check_world(settings, seed, scale)
        counts = load_app_database(settings, seed, scale, as_of)
    except (demo_home.DemoRefused, steps.StepFailed) as exc:
        fail(exc)
    console.print("app database written: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


@appdb.command("stop")
def appdb_stop() -> None:
    stopped = steps.stop_app_database(Settings.load())
    console.print("app database stopped" if stopped else "no embedded app database was running")


# --- the steps the demo shares with the commands above ---------------------------------
def start_sandbox(settings: Settings, seed: int, scale: float, vendor_tier: str) -> server.SandboxHandle:
    with steps.step("sandbox"):
        return server.start(settings.sandbox_state, seed, scale, vendor_tier=vendor_tier)


def load_app_database(settings: Settings, seed: int, scale: float, as_of: datetime | None = None) -> dict[str, int]:
    """The world's snapshot into the app database, and its Metabase slice into a `metabase` database beside it."""
    from sandbox.app_database import write_snapshot
    from sandbox.vendors.metabase.app_database import write_beside
    from sandbox.world import build_world, cache

    engine = steps.app_engine(settings)
    with steps.step("app database"):
        # the world a sandbox started on it kept, not built a second time (minutes at large scales)
        kept = cache.world_file(server.files_folder(settings.sandbox_state), seed, scale)
        world = cache.load(kept, slices=False) or build_world(seed, scale)
        counts = write_snapshot(engine, world.snapshot_rows(as_of))  # streamed table by table
        write_beside(engine, world, as_of)
    return counts


@main.command()
@click.option("--seed", default=DEFAULT_SEED, show_default=True)
@click.option("--scale", default=DEFAULT_SCALE, show_default=True)
@click.option("--keep-running", is_flag=True, help="Leave the sandbox and app database up afterwards.")
@click.option("--fresh", is_flag=True, help="Start clean: delete this home's warehouse and dlt state first.")
@click.option("--bigquery", is_flag=True, help="Into a local BigQuery emulator (`make bqemu`) instead of DuckDB.")
@vendor_tier_option
def demo(seed: int, scale: float, keep_running: bool, fresh: bool, bigquery: bool, vendor_tier: str) -> None:
    """Everything in order: sandbox, app database, ingestion, dbt build, training, bentos, reports, summary."""
    settings = Settings.load()
    try:
        with demo_home.demo_lock(settings):
            if fresh:
                server.stop(settings.sandbox_state)
                demo_home.start_clean(settings)
            demo_home.check_world(settings, seed, scale)
            _demo(settings, seed, scale, keep_running, bigquery, vendor_tier)
    except demo_home.DemoRefused as exc:
        fail(exc)


def _demo(settings: Settings, seed: int, scale: float, keep_running: bool, bigquery: bool, vendor_tier: str) -> None:
    from ingestion.registry import SOURCES
    from pcdata import reports

    warehouse_config: dict[str, str] = {}  # the emulator's, when asked for: kept through the sandbox's own config
    if bigquery:
        from sandbox import bigquery as emulator

        with steps.step("BigQuery emulator"):
            handle = emulator.start(settings.home / "bigquery-emulator.json")
        console.print(f"BigQuery emulator at {handle.endpoint} (pid {handle.pid}), project {handle.project}")
        warehouse_config = handle.config()
        use(warehouse_config)
        settings = Settings.load()
    timings: dict[str, float] = {}
    total = 7
    gates: dict = {}  # quality gate results (quality/), for the summary

    def timed(n: int, label: str, fn, *args, **kwargs):
        console.rule(f"[bold]{n}/{total} {label}")
        started = time.monotonic()
        value = fn(*args, **kwargs)
        timings[label] = time.monotonic() - started
        return value

    try:
        handle = timed(1, "sandbox APIs", start_sandbox, settings, seed, scale, vendor_tier)
        console.print(f"  vendors served at {handle.base_url}")
        counts = timed(2, "app database", load_app_database, settings, seed, scale)
        console.print("  " + ", ".join(f"{t} {n}" for t, n in counts.items()))
        use({**warehouse_config, **sandbox_config(handle, steps.app_engine(settings))})
        timed(3, "ingestion (dlt)", ingest_with_progress, settings, list(SOURCES))
        gates["raw"] = timed("3b", "quality gate: raw, dbt source freshness", _raw_gate, settings)
        summary = timed(4, "dbt build", steps.transform, settings)
        console.print(f"  dbt build: {summary.line()}")
        gates["marts"] = timed("4b", "quality gate: marts", _gate, settings, "marts")
        trained = timed(5, "train compliance", steps.train_compliance, settings, seed)
        print_training(trained)
        reco = timed("5b", "train recommendation", steps.train_recommendation, settings, seed)
        print_recommendation(reco)
        bento = timed(6, "build bentos", steps.build_bento, settings, "compliance")
        console.print(f"  bento {bento}")
        reco_bento = timed("6b", "build recommendation bento", steps.build_bento, settings, "recommendation")
        console.print(f"  bento {reco_bento}")
        written = timed(7, "reports", _write_reports, settings, reports)
    except steps.StepFailed as exc:
        if bigquery and not keep_running:
            emulator.stop(settings.home / "bigquery-emulator.json")
        fail(exc)
    finally:
        if not keep_running:
            server.stop(settings.sandbox_state)
            steps.stop_app_database(settings)
    try:
        _summary(settings, list(SOURCES), summary, trained, bento, written, timings)
    finally:
        if bigquery and not keep_running:
            emulator.stop(settings.home / "bigquery-emulator.json")
    console.print(f"recommendation model: {reco['tag']}; bento {reco_bento}; report {reco['report']}")
    print_recommendation(reco)
    for gate in gates.values():
        console.print(f"{gate.headline()}; Data Docs: {gate.docs}", markup=False, highlight=False, soft_wrap=True)


# --- quality gates: a blocking failure raises StepFailed, which stops the demo before the next step
def _gate(settings: Settings, gate: str):
    def show(result) -> None:
        for line in result.lines():
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)

    return steps.quality_gate(settings, gate, on_result=show)


def _raw_gate(settings: Settings):
    result = _gate(settings, "raw")
    console.print(f"  dbt source freshness: {steps.source_freshness(settings).line()}")
    return result


def _write_reports(settings: Settings, reports) -> dict[str, str]:
    written = {}
    for name in reports.available():
        with steps.step(f"report {name}"):
            written[name] = str(reports.write(settings, name))
        console.print(f"  {name}: {written[name]}")
    return written


def _summary(
    settings: Settings,
    sources: list[str],
    summary,
    trained: dict,
    bento: str,
    written: dict[str, str],
    timings: dict[str, float],
) -> None:
    raw, marts = steps.raw_row_counts(settings, sources), steps.mart_row_counts(settings)
    for title, counts in (("raw tables", raw), ("marts", marts)):
        table = Table(title=title)
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, n in sorted(counts.items()):
            table.add_row(name, str(n))
        console.print(table)
    console.print(f"dbt build: {summary.line()}")
    console.print(
        f"compliance model: {trained['tag']}, test balanced accuracy "
        f"{trained['metrics']['balanced_accuracy']:.3f}; bento {bento}"
    )
    for name, path in written.items():
        console.print(f"report {name}: {path}")
    console.print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    console.print(f"warehouse: {settings.warehouse_name()}")
    if settings.destination == "bigquery":
        datasets = sorted({name.split(".")[0] for name in (*raw, *marts)})
        console.print(f"BigQuery datasets: {', '.join(datasets)}", soft_wrap=True)
    where = "in that file (duckdb)" if settings.destination == "duckdb" else "datasets of that project"
    console.print(
        f"next: query the marts_* {where}; read the model report {trained['report']}; "
        "`pcdata serve compliance` serves the Compliance API."
    )
