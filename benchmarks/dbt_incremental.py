"""dbt on a demo's warehouse: the full build, a rerun with no new data, and a rerun after one day of new data.

    python -m benchmarks.dbt_incremental /tmp/home-s20            # a pcdata home (its warehouse.duckdb)
    python -m benchmarks.dbt_incremental path/to/warehouse.duckdb --days 1 --command build

On a COPY of the warehouse (the original is only read):
1. the last `--days` of the high-volume raw tables are held out (rows dated after the cut: Firebase
   export days, app rows by date_updated, vendor events by their time), as if that day had not arrived;
2. full build: `dbt <command> --full-refresh` of the whole project on what is left;
3. no-change rerun: `dbt <command>` again, nothing new;
4. one-day increment: the held-out rows are put back, `dbt <command>`.
Each line gives seconds, the ratio to the full build, and the seconds spent in the incremental models
and in the rest (the tables and views rebuilt in full on every run). `--command run` (default) times the
models alone; `build` adds seeds and tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

# (schema, table, time column, SQL of the row's time): the raw inputs a day of production adds to
HELD_OUT = [
    ("raw_firebase", "events", "event_date", "strptime(event_date, '%Y%m%d')"),
    ("raw_app", "booking", "date_updated", "date_updated"),
    ("raw_app", "deposit", "date_updated", "date_updated"),
    ("raw_app", "user", "date_updated", "date_updated"),
    ("raw_app", "offer", "date_updated", "date_updated"),
    ("raw_app", "stock", "date_updated", "date_updated"),
    ("raw_brevo", "transactional_events", "date", "cast(date as timestamp)"),
    ("raw_appsflyer", "in_app_events", "event_time", "cast(event_time as timestamp)"),
    ("raw_zendesk", "tickets", "updated_at", "cast(updated_at as timestamp)"),
]


def _columns(conn, schema: str, table: str) -> set[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {c for (c,) in rows}


def hold_out(warehouse: Path, days: int) -> dict[str, int]:
    """Moves the rows of the last `days` days of each raw table into held_out.<schema>__<table>."""
    held = {}
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create schema if not exists held_out")
        for schema, table, column, when in HELD_OUT:
            columns = _columns(conn, schema, table)
            if column not in columns:
                continue
            source, held_table = f'{schema}."{table}"', f"held_out.{schema}__{table}"
            (newest,) = conn.execute(f"select max({when}) from {source}").fetchone()
            if newest is None:
                continue
            conn.execute(
                f"create or replace table {held_table} as select rowid as row_id, * from {source} "
                f"where {when} > cast(? as timestamp) - interval ({days}) day",
                [newest],
            )
            # DuckDB's rowid: tables loaded as Arrow (the app's, Firebase's) have no _dlt_id
            conn.execute(f"delete from {source} where rowid in (select row_id from {held_table})")
            held[f"{schema}.{table}"] = conn.execute(f"select count(*) from {held_table}").fetchone()[0]
    return held


def put_back(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as conn:
        for schema, table, _, _ in HELD_OUT:
            held_table = f"held_out.{schema}__{table}"
            if conn.execute(
                "select count(*) from information_schema.tables where table_schema = 'held_out' and table_name = ?",
                [f"{schema}__{table}"],
            ).fetchone()[0]:
                conn.execute(f'insert into {schema}."{table}" by name select * exclude (row_id) from {held_table}')
        conn.execute("drop schema held_out cascade")


def timed_dbt(settings, command: str, *args: str) -> tuple[float, float, float, list]:
    """Seconds of the whole invocation, of its incremental models and of its other models; the models' times."""
    from dbt.adapters.factory import reset_adapters
    from dbt.cli.main import dbtRunner

    from warehouse.dbt import profile_args

    started = time.perf_counter()
    try:
        result = dbtRunner().invoke([command, *args, *profile_args(settings)])
    finally:
        reset_adapters()
    seconds = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"dbt {command} {' '.join(args)} failed: {result.exception or 'see the dbt log above'}")
    incremental = other = 0.0
    models = []
    for r in getattr(result.result, "results", None) or []:
        if not r.node.unique_id.startswith("model."):
            continue
        models.append((r.execution_time, r.node.name, r.node.config.materialized))
        if r.node.config.materialized == "incremental":
            incremental += r.execution_time
        else:
            other += r.execution_time
    return seconds, incremental, other, sorted(models, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path, help="a pcdata home (holding warehouse.duckdb) or a .duckdb file")
    parser.add_argument("--days", type=int, default=1, help="days of new data of the increment (default 1)")
    parser.add_argument("--command", choices=["run", "build"], default="run", help="dbt run (models) or build")
    parser.add_argument("--workdir", type=Path, help="where the copy goes (default: a temporary directory)")
    parser.add_argument("--top", type=int, default=12, help="slowest models listed (default 12)")
    args = parser.parse_args()

    source = args.path / "warehouse.duckdb" if args.path.is_dir() else args.path
    if not source.exists():
        raise SystemExit(f"{source} does not exist: give a pcdata home after a demo, or its warehouse.duckdb")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dbt-incremental-"))
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    warehouse = home / "warehouse.duckdb"
    shutil.copy2(source, warehouse)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copy2(wal, home / wal.name)
    os.environ["PCDATA__HOME"] = str(home)
    os.environ.pop("DESTINATION__DUCKDB__CREDENTIALS", None)
    os.environ["DBT_LOG_PATH"] = str(workdir / "logs")
    from warehouse import Settings

    settings = Settings.load()
    quiet = ("--quiet",)

    held = hold_out(warehouse, args.days)
    print(f"warehouse {source} ({source.stat().st_size / 2**20:.0f} MiB), copied to {warehouse}")
    print(f"held out, the last {args.days} day(s): " + ", ".join(f"{k} {v:,}" for k, v in held.items()))

    # untimed: the seeds (a warehouse that only holds raw data has none), and a parse, so that the runs
    # below parse partially, as a daily job does
    timed_dbt(settings, "seed", *quiet)
    rows = []
    full = timed_dbt(settings, args.command, "--full-refresh", *quiet)
    rows.append(("full build (--full-refresh)", full))
    rows.append(("no-change rerun", timed_dbt(settings, args.command, *quiet)))
    put_back(warehouse)
    rows.append((f"{args.days}-day increment rerun", timed_dbt(settings, args.command, *quiet)))

    print(f"\ndbt {args.command}, seconds (models: time inside each model's materialization)")
    print(f"{'run':<30} {'seconds':>8} {'x full':>7} {'incremental models':>19} {'other models':>13}")
    for name, (seconds, incremental, other, _) in rows:
        print(f"{name:<30} {seconds:8.1f} {seconds / full[0]:7.2f} {incremental:19.1f} {other:13.1f}")
    print(f"\nslowest models, seconds: {'full build':>32} {'increment':>10}")
    increment = {name: t for t, name, _ in rows[-1][1][3]}
    for t, name, materialized in full[3][: args.top]:
        print(f"  {name:<45} {materialized:<11} {t:8.2f} {increment.get(name, 0):10.2f}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
