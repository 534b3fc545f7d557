"""The platform on BigQuery, proven against a local emulator (bqemulator in `.bqemu/`, shimmed by
`sandbox/bigquery/launcher.py`): the demo's world (seed 11, scale 0.15) through every dlt source into the
emulator, `dbt build` on the bigquery target, both quality gates, training, reports; then every mart equals
the DuckDB build of the same world (the shared `demo` fixture), row for row.

Here beside the other end-to-end modules so the DuckDB side is the one demo run they share, not a second.
The emulator stands in for BigQuery's API and most of its SQL, not for its exact semantics: README's
"BigQuery" section lists what it does not prove.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

from sandbox import bigquery as emulator
from tests.end_to_end.conftest import SCALE, SEED

# the emulator demo is the longest fixture of the suite (about as long as the DuckDB demo plus its gates'
# per-query overhead): pytest-timeout counts fixture setup in the first test that uses it
pytestmark = [pytest.mark.timeout(2700), pytest.mark.xdist_group("bigquery")]  # one xdist unit (tests/conftest.py)

# the run's own configuration only: none of the developer's sources, salt or warehouse settings
_FOREIGN = ("SOURCES__", "PII_SALT", "PCDATA__", "DESTINATION__", "BIGQUERY_EMULATOR_HOST", "GOOGLE_")


@pytest.fixture(scope="module")
def bigquery_emulator(tmp_path_factory):
    state = tmp_path_factory.mktemp("bqemu") / "emulator.json"
    handle = emulator.start(state)
    try:
        yield handle
    finally:
        assert emulator.stop(state), "the emulator was gone before the end of the tests"


@dataclass
class BigQueryDemo:
    run: subprocess.CompletedProcess
    ddl: dict[str, str]  # model -> the DDL dbt ran for it on BigQuery (target/run)


# BigQuery-only table settings (dbt_project/macros/config/bigquery_table.sql) on one fact and one mart
PARTITIONED = {
    "int_regional__bookings": "intermediate/regional",
    "mrt_regional__monthly_kpis": "marts/regional",
}


@pytest.fixture(scope="module")
def bigquery_demo(tmp_path_factory, bigquery_emulator) -> BigQueryDemo:
    home = tmp_path_factory.mktemp("demo-bigquery")
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
    env.update(bigquery_emulator.config(), PCDATA__HOME=str(home), COLUMNS="200")
    run = subprocess.run(
        [sys.executable, "-m", "sandbox", "demo", "--seed", str(SEED), "--scale", str(SCALE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=2400,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    compiled = home / "dbt" / "target" / "run" / "pcdata" / "dbt_project" / "models"
    return BigQueryDemo(run, {m: (compiled / f / f"{m}.sql").read_text() for m, f in PARTITIONED.items()})


def test_whole_demo_runs_on_bigquery(bigquery_demo, bigquery_emulator):
    out = bigquery_demo.run.stdout
    assert f"warehouse: BigQuery project {bigquery_emulator.project} (US)" in out
    datasets = re.search(r"BigQuery datasets: (.*)", out)
    assert datasets is not None, out[-3000:]
    names = set(datasets.group(1).split(", "))
    assert {"raw_app", "raw_zendesk", "marts_regional", "marts_marketing", "marts_ml"} <= names
    assert re.search(r"quality raw: PASSED", out) and re.search(r"quality marts: PASSED", out)
    dbt = re.search(r"^dbt build: (.*)$", out, re.M)
    assert dbt is not None and " error" not in dbt.group(1) and " fail" not in dbt.group(1), dbt


def test_partitioning_and_clustering_on_bigquery_only(bigquery_demo):
    """The emulator accepts PARTITION BY and CLUSTER BY but does not report them in table metadata (its B11):
    the DDL dbt ran says what BigQuery gets (the macro gives DuckDB no settings: the demo fixture built it)."""
    for model, ddl in bigquery_demo.ddl.items():
        ddl = " ".join(ddl.lower().split())
        assert "partition by date_trunc(" in ddl and "cluster by" in ddl, (model, ddl[:600])


def test_every_source_loaded(bigquery_emulator, demo):
    """Every raw dataset of the DuckDB build exists in the emulator with the same tables and row counts."""
    client = bigquery_emulator.client()
    raw = demo.query(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema like 'raw_%' and table_name not like '_dlt%' order by 1, 2"
    )
    loaded = {
        (d.dataset_id, t.table_id)
        for d in client.list_datasets()
        if d.dataset_id.startswith("raw_")
        for t in client.list_tables(d.reference)
        if not t.table_id.startswith("_dlt")
    }
    assert set(raw) <= loaded, sorted(set(raw) - loaded)
    for schema, table in raw:
        duck = demo.query(f'select count(*) from {schema}."{table}"')[0][0]
        bq = next(iter(client.query(f"select count(*) from `{schema}.{table}`").result()))[0]
        assert bq == duck, f"{schema}.{table}: {bq} rows in BigQuery, {duck} in DuckDB"


# columns that hold when a run loaded the data, not what the data says: two runs differ there by nature
RUN_TIME_COLUMNS = {("mrt_marketing__email_campaigns", "stats_updated_at")}
# the DuckDB marts, loaded into the emulator beside the BigQuery ones to be compared there
DUCKDB_COPY = "duckdb_marts"
# a DuckDB column type -> the BigQuery type its values load into (DECIMAL: NUMERIC)
BIGQUERY_TYPE = {
    "VARCHAR": "STRING",
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "HUGEINT": "INT64",
    "DOUBLE": "FLOAT64",
    "FLOAT": "FLOAT64",
    "BOOLEAN": "BOOL",
    "DATE": "DATE",
    "TIMESTAMP": "DATETIME",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
}


def _normalised(column: str, bigquery_type: str) -> str:
    """A column as both warehouses' values compare: fractional numbers to the 6th decimal (summed in another
    order), dates and times as DATETIME in UTC (the emulator returns DATETIME where BigQuery gives DATE for
    date_trunc on a date: its B4)."""
    if bigquery_type in ("FLOAT", "FLOAT64", "NUMERIC", "BIGNUMERIC"):
        return f"round(cast(`{column}` as float64), 6) as `{column}`"
    if bigquery_type in ("DATE", "DATETIME", "TIMESTAMP"):
        return f"cast(`{column}` as datetime) as `{column}`"
    return f"`{column}`"


def _counted(table: str, columns: list[str], types: dict[str, str]) -> str:
    """Each distinct row of the table with its count: a multiset two EXCEPT DISTINCTs can compare."""
    select = ", ".join(_normalised(c, types[c]) for c in columns)
    positions = ", ".join(str(i) for i in range(1, len(columns) + 1))
    return f"select {select}, count(*) as copies from `{table}` group by {positions}"


def test_every_mart_equals_duckdb(bigquery_demo, bigquery_emulator, demo, tmp_path):
    """Row for row, compared inside the emulator: each DuckDB mart goes there as Parquet (dlt's way in), and
    the rows only one side holds come back, not the marts (3 million values, a minute of JSON pages)."""
    from google.cloud import bigquery

    client = bigquery_emulator.client()
    marts = demo.query(
        "select table_schema, table_name from information_schema.tables where table_schema like 'marts_%' order by 1, 2"
    )
    assert len(marts) >= 20, marts
    built = {
        (d.dataset_id, t.table_id)
        for d in client.list_datasets()
        if d.dataset_id.startswith("marts_")
        for t in client.list_tables(d.reference)
    }
    assert set(marts) == built
    client.create_dataset(DUCKDB_COPY, exists_ok=True)
    differences = []
    for schema, table in marts:
        duck_types = {
            c: t
            for c, t in demo.query(
                "select column_name, data_type from information_schema.columns "
                f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
            )
            if (table, c) not in RUN_TIME_COLUMNS
        }
        columns = list(duck_types)
        unknown = {t for t in duck_types.values() if t not in BIGQUERY_TYPE and not t.startswith("DECIMAL")}
        assert not unknown, f"{schema}.{table}: DuckDB types {unknown} have no BigQuery type in BIGQUERY_TYPE"
        copy_types = {c: "NUMERIC" if t.startswith("DECIMAL") else BIGQUERY_TYPE[t] for c, t in duck_types.items()}
        copy = client.create_table(
            bigquery.Table(
                f"{client.project}.{DUCKDB_COPY}.{table}",
                schema=[bigquery.SchemaField(c, t) for c, t in copy_types.items()],
            ),
            exists_ok=True,
        )
        parquet = tmp_path / f"{table}.parquet"
        # HUGEINT (DuckDB's sums of integers) has no Parquet type: as the BIGINT it holds
        select = ", ".join(f'"{c}"::bigint' if t == "HUGEINT" else f'"{c}"' for c, t in duck_types.items())
        demo.query(f"copy (select {select} from {schema}.\"{table}\") to '{parquet}' (format parquet)")
        with parquet.open("rb") as rows:
            config = bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.PARQUET, write_disposition="WRITE_TRUNCATE"
            )
            client.load_table_from_file(rows, copy, job_config=config).result()
        bigquery_types = {f.name: f.field_type for f in client.get_table(f"{schema}.{table}").schema}
        on_bigquery = _counted(f"{schema}.{table}", columns, bigquery_types)
        on_duckdb = _counted(f"{DUCKDB_COPY}.{table}", columns, copy_types)
        only = [
            (side, list(row.values()))
            for side, first, second in (("BigQuery", on_bigquery, on_duckdb), ("DuckDB", on_duckdb, on_bigquery))
            for row in client.query(f"select * from ({first} except distinct {second}) limit 2").result()
        ]
        if only:
            differences.append(f"{schema}.{table}: rows (with their count) only in {only}")
    assert not differences, "\n".join(differences)


def test_training_on_bigquery_matches_duckdb(bigquery_demo, demo):
    """Same mart, same seed: the compliance model trained from BigQuery scores as the DuckDB one."""
    pattern = r"compliance model: \S+, test balanced accuracy ([0-9.]+)"
    on_bigquery = re.search(pattern, bigquery_demo.run.stdout)
    on_duckdb = re.search(pattern, demo.run.stdout)
    assert on_bigquery is not None and on_duckdb is not None
    assert on_bigquery.group(1) == on_duckdb.group(1)
