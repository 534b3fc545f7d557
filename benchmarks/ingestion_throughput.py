"""Ingestion throughput of the high-volume resources, beside the fetch-and-parse floor of the same data.

For each resource: rows/s of our source (dlt extract + normalize + load, parquet load files, into a
throwaway DuckDB: a full first load) and rows/s of the floor measured in the same run on the same data
with no dlt at all:
- app database tables: `COPY (select <the columns we load>) TO STDOUT (format csv)` read by pyarrow.csv;
- AppsFlyer raw reports: the same report calls, each CSV answer read by pyarrow.csv;
- Brevo events, Zendesk exports: the same pages fetched, each JSON answer parsed into an Arrow table;
- Firebase export: the same day files read by pyarrow.json.

It runs against a running sandbox and app database (`python -m sandbox demo --keep-running`, or
`python -m sandbox start` + `appdb load`), found from `--home` (the PCDATA__HOME they run under); the
pipelines and the throwaway warehouse go to a temporary folder, never to that home. Vendor pacing is
lifted on both sides (sandbox limits and client pacing), and every run of either side starts on a fresh
vendor day (daily quotas cleared): this measures our code, not the vendors' quotas. The sandbox's limits
are reset when it ends (`--shared`: left alone, for a sandbox others use).

    .venv/bin/python benchmarks/ingestion_throughput.py --home /tmp/home-arrow [--only app.booking ...]
        [--repeat 1] [--json figures.json]
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@dataclass
class Bench:
    name: str  # source.resource
    ours: Callable[[Path], tuple[int, float]]  # working folder -> rows loaded, seconds of dlt's extract step
    floor: Callable[[], int]  # -> rows fetched and parsed


@dataclass
class Figure:
    name: str
    rows: int
    ours_s: float
    floor_s: float
    floor_rows: int
    extract_s: float = 0.0  # of ours_s: dlt's extract step (our resource's own code runs there)

    @property
    def ratio(self) -> float:
        return self.ours_s / self.floor_s if self.floor_s else float("nan")

    def as_dict(self) -> dict:
        return {**self.__dict__, "ratio": self.ratio}


def _timed(fn: Callable[[], int], repeat: int, before: Callable[[], None]) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(repeat):
        before()
        started = time.perf_counter()
        rows = fn()
        best = min(best, time.perf_counter() - started)
    return best, rows


# --- ours: the product's source, one resource, through a whole dlt run --------------------------
def dlt_run(name: str, source_factory: Callable[[], object], resource: str, table: str):
    def run(work: Path) -> tuple[int, float]:
        import dlt

        from ingestion.pipeline import duckdb_destination

        pipeline = dlt.pipeline(
            pipeline_name=f"pcdata_{name.split('.')[0]}",  # the pipeline config of the real one (.dlt)
            destination=duckdb_destination(work / "bench.duckdb"),  # the product's
            dataset_name=f"raw_{name.split('.')[0]}",
            pipelines_dir=str(work / "pipelines"),
        )
        source = source_factory().with_resources(resource)  # type: ignore[attr-defined]
        started = time.perf_counter()
        pipeline.extract(source, loader_file_format="parquet")
        extracted = time.perf_counter() - started
        pipeline.normalize()
        pipeline.load()
        rows = pipeline.last_trace.last_normalize_info.row_counts  # type: ignore[union-attr]
        return int(rows.get(table, 0)), extracted

    return run


# --- floors --------------------------------------------------------------------------------------
def copy_floor(engine, table: str, columns: list[str]) -> Callable[[], int]:
    def run() -> int:
        raw = engine.raw_connection()
        try:
            buffer = io.BytesIO()
            select = ", ".join(columns)
            raw.cursor().copy_expert(
                f'copy (select {select} from "public"."{table}") to stdout (format csv, header)', buffer
            )
        finally:
            raw.close()
        buffer.seek(0)
        return pacsv.read_csv(buffer).num_rows

    return run


def app_columns(engine, table: str) -> list[str]:
    """The select our app source issues, as plain SQL: personal columns dropped, the email hashed, JSON as text."""
    import sqlalchemy as sa

    from ingestion.sources.app_db import SELECT
    from sandbox.config import SANDBOX_PII_SALT

    names = [c["name"] for c in sa.inspect(engine).get_columns(table, schema="public")]
    dropped = set(SELECT.never_selected.get(table, ()))
    cols = [f'"{c}"::text' if (table, c) in SELECT.as_text else f'"{c}"' for c in names if c not in dropped]
    for (t, new), source in SELECT.pseudonyms.items():
        if t == table:
            cols.append(
                f"encode(sha256(convert_to('{SANDBOX_PII_SALT}' || lower(trim(\"{source}\")), 'UTF8')), 'hex') as {new}"
            )
    return cols


def http_session(headers: dict[str, str], auth=None) -> requests.Session:
    s = requests.Session()
    s.headers.update(headers)
    s.auth = auth
    return s


def appsflyer_floor(config: dict[str, str], report: str) -> Callable[[], int]:
    """The report calls the source makes: its windows and its `maximum_rows` (the API's default, 200,000 rows,
    cuts a window of a large app: the floor would read less than the source)."""
    from ingestion.sources.appsflyer import appsflyer

    defaults = inspect.signature(appsflyer).parameters
    base, token = config["SOURCES__APPSFLYER__BASE_URL"], config["SOURCES__APPSFLYER__API_TOKEN"]
    app_ids = json.loads(config["SOURCES__APPSFLYER__APP_IDS"])
    window = "INSTALLS_WINDOW_DAYS" if report == "installs_report" else "EVENTS_WINDOW_DAYS"
    days = int(config.get(f"SOURCES__APPSFLYER__{window}") or defaults[window.lower()].default)
    maximum_rows = config.get("SOURCES__APPSFLYER__MAXIMUM_ROWS") or defaults["maximum_rows"].default
    first = date.fromisoformat(config["SOURCES__APPSFLYER__START_DATE"])
    last = datetime.now(UTC).date() - timedelta(days=1)

    def run() -> int:
        s = http_session({"Authorization": f"Bearer {token}", "Accept": "text/csv"})
        rows = 0
        for app_id in app_ids:
            start = first
            while start <= last:
                stop = min(last, start + timedelta(days=days - 1))
                r = s.get(
                    f"{base}/api/raw-data/export/app/{app_id}/{report}/v5",
                    params={
                        "from": start.isoformat(),
                        "to": stop.isoformat(),
                        "timezone": "UTC",
                        "maximum_rows": str(maximum_rows),
                    },
                )
                r.raise_for_status()
                if r.content.strip():
                    rows += pacsv.read_csv(io.BytesIO(r.content)).num_rows
                start = stop + timedelta(days=1)
        return rows

    return run


def brevo_floor(config: dict[str, str]) -> Callable[[], int]:
    from ingestion.sources.brevo import EVENT_TYPES

    base, key = config["SOURCES__BREVO__BASE_URL"], config["SOURCES__BREVO__API_KEY"]
    first = date.fromisoformat(config["SOURCES__BREVO__START_DATE"])
    last = datetime.now(UTC).date()

    def run() -> int:
        s = http_session({"api-key": key, "Accept": "application/json"})
        rows = 0
        start = first
        while start <= last:
            stop = min(last, start + timedelta(days=89))
            for event in EVENT_TYPES:
                offset = 0
                while True:
                    r = s.get(
                        f"{base}/v3/smtp/statistics/events",
                        params={
                            "startDate": start.isoformat(),
                            "endDate": stop.isoformat(),
                            "event": event,
                            "limit": 2500,
                            "offset": offset,
                        },
                    )
                    r.raise_for_status()
                    events = r.json().get("events") or []
                    if events:
                        rows += pa.Table.from_pylist(events).num_rows
                    if len(events) < 2500:
                        break
                    offset += 2500
            start = stop + timedelta(days=1)
        return rows

    return run


def zendesk_floor(config: dict[str, str], kind: str) -> Callable[[], int]:
    base = config["SOURCES__ZENDESK__BASE_URL"]
    auth = (f"{config['SOURCES__ZENDESK__EMAIL']}/token", config["SOURCES__ZENDESK__API_TOKEN"])

    def run() -> int:
        s = http_session({"Accept": "application/json"}, auth)
        sideloads = {"include": "metric_sets"} if kind == "tickets" else {}  # asked on every page, as ours does
        params: dict = {"start_time": 0, "per_page": 1000, **sideloads}
        rows = 0
        while True:
            r = s.get(f"{base}/api/v2/incremental/{kind}/cursor.json", params=params)
            r.raise_for_status()
            page = r.json()
            for key in (kind, "metric_sets"):
                if page.get(key):  # the scalar fields (custom field values mix lists and scalars)
                    table = pa.Table.from_pylist([_scalars(r) for r in page[key]])
                    rows += table.num_rows if key == kind else 0
            if page.get("end_of_stream") or not page.get("after_cursor"):
                return rows
            params = {"cursor": page["after_cursor"], "per_page": 1000, **sideloads}

    return run


def _scalars(record: dict) -> dict:
    return {k: v for k, v in record.items() if not isinstance(v, (list, dict))}


def firebase_floor(bucket_url: str) -> Callable[[], int]:
    def run() -> int:
        folder = Path(bucket_url.removeprefix("file://"))
        rows = 0
        for path in sorted(folder.glob("**/events_*.json*")):
            rows += pajson.read_json(path).num_rows  # .gz is read by its extension
        return rows

    return run


# --- the benches ---------------------------------------------------------------------------------
APP_TABLES = ("booking", "user", "offer", "stock")


def benches(config: dict[str, str], engine) -> list[Bench]:
    from ingestion.sources.app_db import app_db
    from ingestion.sources.appsflyer import appsflyer
    from ingestion.sources.brevo import brevo
    from ingestion.sources.firebase import firebase
    from ingestion.sources.zendesk import zendesk

    found = []
    for table in APP_TABLES:
        found.append(
            Bench(
                f"app.{table}",
                dlt_run(f"app.{table}", lambda: app_db(credentials=engine), table, table),
                copy_floor(engine, table, app_columns(engine, table)),
            )
        )
    for report, resource in (("installs_report", "installs"), ("in_app_events_report", "in_app_events")):
        found.append(
            Bench(
                f"appsflyer.{resource}",
                dlt_run(f"appsflyer.{resource}", appsflyer, resource, resource),
                appsflyer_floor(config, report),
            )
        )
    found.append(
        Bench(
            "brevo.transactional_events",
            dlt_run("brevo.transactional_events", brevo, "transactional_events", "transactional_events"),
            brevo_floor(config),
        )
    )
    for kind in ("tickets", "users"):
        found.append(
            Bench(
                f"zendesk.{kind}",
                dlt_run(f"zendesk.{kind}", lambda: zendesk(incremental_calls_per_minute=100_000), kind, kind),
                zendesk_floor(config, kind),
            )
        )
    bucket = config.get("SOURCES__FIREBASE__BUCKET_URL")
    if bucket:
        found.append(
            Bench("firebase.events", dlt_run("firebase.events", firebase, "events", "events"), firebase_floor(bucket))
        )
    return found


def fresh_day(base_url: str, vendors: list[str]) -> None:
    """The sandbox's daily quotas, faults and counters cleared, and each vendor's rate limit lifted:
    every run of either side starts on a fresh vendor day (AppsFlyer's raw-data quota would otherwise
    cut the later runs of `--repeat`, or of the whole benchmark, short)."""
    requests.post(f"{base_url}/_sandbox/reset", timeout=10)
    for vendor in vendors:
        requests.post(
            f"{base_url}/_sandbox/rate_limit/{vendor}", json={"requests": 1_000_000, "per_seconds": 1.0}, timeout=10
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", required=True, help="PCDATA__HOME of the running sandbox and app database")
    parser.add_argument("--only", nargs="*", help="resources to run (source.resource), default all")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side; the best is kept")
    parser.add_argument("--json", type=Path, help="also write the figures there")
    parser.add_argument(
        "--shared",
        action="store_true",
        help="someone else's sandbox: never touch its limits (use with --only app.* firebase.events)",
    )
    args = parser.parse_args()

    os.environ["PCDATA__HOME"] = args.home
    from pcdata import steps
    from sandbox import server
    from sandbox.config import sandbox_config, use
    from warehouse import Settings

    settings = Settings.load()
    handle = server.read_state(settings.sandbox_state)
    if handle is None:
        sys.exit(f"no sandbox runs under {args.home}: start one (python -m sandbox demo --keep-running)")
    engine = steps.app_engine(settings)
    config = sandbox_config(handle, engine)
    # no client pacing: the sandbox's limits are lifted below
    config.update(
        {
            "SOURCES__BREVO__CALLS_PER_HOUR": "100000000",
            "SOURCES__BREVO__CAMPAIGN_CALLS_PER_HOUR": "100000000",
            "SOURCES__ZENDESK__CALLS_PER_MINUTE": "100000000",
            "SOURCES__APPSFLYER__CALLS_PER_MINUTE": "100000000",
        }
    )
    use(config)
    selected = [b for b in benches(config, engine) if not args.only or b.name in args.only]
    # imports are a cost per process, not per row (dlt's Arrow incremental imports pandas: seconds where
    # bytecode is not cached): paid here, before any timing, not by whichever resource runs first
    import dlt.common.libs.pandas
    import dlt.common.libs.pyarrow  # noqa: F401

    vendors = sorted({b.name.split(".")[0] for b in selected} - {"app", "firebase"})

    def fresh_vendors() -> None:
        if not args.shared:
            fresh_day(handle.base_url, vendors)

    figures: list[Figure] = []
    try:
        with tempfile.TemporaryDirectory(prefix="ingestion-bench-") as tmp:
            for i, bench in enumerate(selected):
                try:
                    floor_s, floor_rows = _timed(bench.floor, args.repeat, fresh_vendors)
                except Exception as exc:  # one broken resource must not lose the others' figures
                    print(f"{bench.name}: floor failed: {type(exc).__name__}: {exc}", flush=True)
                    continue
                best, extract_s, rows = float("inf"), 0.0, 0
                for r in range(args.repeat):
                    work = Path(tmp) / f"{i}-{r}"
                    work.mkdir()
                    fresh_vendors()
                    started = time.perf_counter()
                    rows, extracted = bench.ours(work)
                    if time.perf_counter() - started < best:
                        best, extract_s = time.perf_counter() - started, extracted
                figures.append(Figure(bench.name, rows, best, floor_s, floor_rows, extract_s))
                print(_line(figures[-1]), flush=True)
    finally:
        if not args.shared:
            requests.post(f"{handle.base_url}/_sandbox/reset", timeout=10)
    print()
    print(_table(figures, handle))
    if args.json:
        args.json.write_text(json.dumps([f.as_dict() for f in figures], indent=2))


def _line(f: Figure) -> str:
    return (
        f"{f.name}: {f.rows} rows in {f.ours_s:.2f} s (extract {f.extract_s:.2f} s); "
        f"floor {f.floor_rows} rows in {f.floor_s:.2f} s"
    )


def _table(figures: list[Figure], handle) -> str:
    head = (
        f"{'resource':<28}{'rows':>9}{'ours s':>8}{'extract s':>10}{'ours rows/s':>12}"
        f"{'floor s':>8}{'floor rows/s':>13}{'x floor':>8}{'extract x':>10}"
    )
    lines = [f"ingestion throughput: sandbox seed {handle.seed} scale {handle.scale}", head, "-" * len(head)]
    for f in figures:
        lines.append(
            f"{f.name:<28}{f.rows:>9}{f.ours_s:>8.2f}{f.extract_s:>10.2f}{_per_s(f.rows, f.ours_s):>12,.0f}"
            f"{f.floor_s:>8.2f}{_per_s(f.floor_rows, f.floor_s):>13,.0f}{f.ratio:>8.1f}"
            f"{f.extract_s / f.floor_s if f.floor_s else 0:>10.1f}"
            + (f"  not the same data: the floor read {f.floor_rows} rows" if f.rows != f.floor_rows else "")
        )
    lines.append("x floor: our whole dlt run (extract + normalize + load into DuckDB) over the floor's time;")
    lines.append("extract x: dlt's extract step alone (fetch, parse, our resource's code) over the floor's time")
    return "\n".join(lines)


def _per_s(rows: int, seconds: float) -> float:
    return rows / seconds if seconds else 0.0


if __name__ == "__main__":
    main()
