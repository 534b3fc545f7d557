"""Suites for the raw datasets, built from the dlt schema each pipeline stores in its dataset
(`_dlt_version`) and from what we know of each vendor (`knowledge.py`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import great_expectations.expectations as gxe

from warehouse import Settings, query

from . import knowledge as k
from .expectations import ExpectTableColumnTypesToMatch
from .knowledge import BLOCK, WARN

# dlt data types -> the SQLAlchemy type names a column of that type may reflect as (DuckDB, BigQuery)
TYPE_NAMES = {
    "bigint": ["BIGINT", "INTEGER", "INT64"],
    "text": ["VARCHAR", "TEXT", "STRING"],
    "double": ["DOUBLE_PRECISION", "FLOAT", "FLOAT64"],
    "bool": ["BOOLEAN", "BOOL"],
    "timestamp": ["TIMESTAMP", "DATETIME"],
    "date": ["DATE"],
    "time": ["TIME"],
    "decimal": ["NUMERIC", "DECIMAL", "BIGNUMERIC"],
    "wei": ["NUMERIC", "DECIMAL", "BIGNUMERIC"],
    # BigQuery: a nested column dlt types json is a RECORD (STRUCT), or an ARRAY of them (raw_firebase.events)
    "json": ["JSON", "JSONB", "VARCHAR", "STRING", "STRUCT", "RECORD", "ARRAY"],
    "binary": ["BYTEA", "BLOB", "BYTES", "LargeBinary"],
}
NUMERIC = {"bigint", "double", "decimal", "wei"}
ROWS = {"result_format": "COMPLETE"}  # UnexpectedRowsExpectation shows its rows only then (ours hold no personal data)
TEMPORAL = {"timestamp", "date"}


@dataclass
class TableSuite:
    """The expectations of one table (or one query, `query` set), validated as one batch."""

    name: str  # suite name: `dataset.table`
    schema: str
    table: str
    expectations: list = field(default_factory=list)
    query: str | None = None
    volume_key: str | None = None  # history key when the suite has a volume expectation
    missing: str | None = None  # why the table cannot be validated at all (a blocking failure)


def dlt_schema(settings: Settings, dataset: str) -> dict | None:
    """The newest dlt schema stored in the dataset, or None when the dataset was never loaded."""
    try:
        rows = query(settings, f"select schema from {dataset}._dlt_version order by inserted_at desc limit 1")
    except Exception:  # no such dataset: the source has not been loaded into this warehouse
        return None
    return json.loads(rows[0][0]) if rows else None


def warehouse_tables(settings: Settings, dataset: str) -> set[str]:
    if settings.destination == "bigquery":
        sql = f"select table_name from {dataset}.INFORMATION_SCHEMA.TABLES"
    else:
        sql = f"select table_name from information_schema.tables where table_schema = '{dataset}'"
    return {name for (name,) in query(settings, sql)}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def raw_suites(settings: Settings, dataset: str, history: dict) -> list[TableSuite]:
    schema = dlt_schema(settings, dataset)
    if schema is None:
        return []
    present = warehouse_tables(settings, dataset)
    suites = [_freshness_suite(dataset)]
    for name, table in schema["tables"].items():
        if name.startswith("_dlt"):
            continue
        columns = {c: col for c, col in table.get("columns", {}).items() if col.get("data_type")}
        if not columns:
            continue  # declared but never received data: dlt has not created it
        suite = TableSuite(f"{dataset}.{name}", dataset, name)
        if name not in present:
            suite.missing = "table in the dlt schema but not in the warehouse"
        else:
            suite.expectations = _table_expectations(dataset, name, table, columns, history, settings.destination)
            suite.volume_key = suite.name
        suites.append(suite)
    return suites


def _freshness_suite(dataset: str) -> TableSuite:
    warn_h, block_h = k.FRESHNESS_HOURS.get(dataset, k.DEFAULT_FRESHNESS_HOURS)
    now = _now()
    return TableSuite(
        f"{dataset}._dlt_loads",
        dataset,
        "_dlt_loads",
        [
            gxe.ExpectColumnMaxToBeBetween(
                column="inserted_at",
                min_value=(now - timedelta(hours=hours)).isoformat(),
                severity=severity,
                description=f"last successful load of {dataset} less than {hours} h old",
            )
            for hours, severity in ((warn_h, WARN), (block_h, BLOCK))
        ],
    )


def _table_expectations(dataset: str, name: str, table: dict, columns: dict, history: dict, destination: str) -> list:
    key = f"{dataset}.{name}"
    # BigQuery lists a RECORD's fields as columns of their own (`geo.country`): with nested (json) columns
    # there, every column of the dlt schema must be present, and the records' own fields are not compared
    nested = destination == "bigquery" and any(spec["data_type"] == "json" for spec in columns.values())
    out: list = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=list(columns),
            exact_match=not nested,
            severity=BLOCK,
            description="columns as in the dlt schema (a renamed, dropped or added column is schema drift)",
        )
    ]
    out.append(
        ExpectTableColumnTypesToMatch(
            column_types={
                c: TYPE_NAMES.get(spec["data_type"], [spec["data_type"].upper()]) for c, spec in columns.items()
            },
            severity=BLOCK,
            description="column types as in the dlt schema",
        )
    )
    out += _key_expectations(table, columns)
    out.append(_volume(key, history))
    out += _value_expectations(key, columns, destination)
    coords = [c for c in columns if c in ("latitude", "longitude")]
    if len(coords) == 2:
        out.append(
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="select latitude, longitude from {batch} where latitude is not null and not ("
                + " or ".join(
                    f"(latitude between {a} and {b} and longitude between {c} and {d})" for a, b, c, d in k.FRANCE_BOXES
                )
                + ")",
                # a misplaced point on a map, not a wrong count: the marts' geography comes from INSEE codes
                severity=WARN,
                result_format=ROWS,
                description="coordinates inside France (metropole, Corsica, overseas departments and collectivities)",
            )
        )
    return out


def _key_expectations(table: dict, columns: dict) -> list:
    out = []
    pk = [c for c, spec in columns.items() if spec.get("primary_key")]
    if len(pk) == 1:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=pk[0], severity=BLOCK, description="primary key unique"))
    elif pk:
        out.append(
            gxe.ExpectCompoundColumnsToBeUnique(column_list=pk, severity=BLOCK, description="primary key unique")
        )
    elif "_dlt_id" in columns:  # child tables: one row per list item
        out.append(gxe.ExpectColumnValuesToBeUnique(column="_dlt_id", severity=BLOCK, description="row key unique"))
    for col, spec in columns.items():
        if spec.get("primary_key") or spec.get("nullable") is False:
            what = "primary key" if spec.get("primary_key") else "NOT NULL in the dlt schema"
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=col, severity=BLOCK, description=f"{what}: no null"))
    return out


def _volume(key: str, history: dict) -> object:
    previous = sorted(history.get(key, [])[-k.VOLUME_RUNS :])
    if not previous:
        return gxe.ExpectTableRowCountToBeBetween(
            min_value=1, severity=WARN, description="rows loaded (no previous load to compare with)"
        )
    median = previous[len(previous) // 2]
    low, high = int(median * k.VOLUME_LOW), int(median * k.VOLUME_HIGH) + k.VOLUME_SLACK
    return gxe.ExpectTableRowCountToBeBetween(
        min_value=low,
        max_value=high,
        severity=BLOCK,
        description=f"row count within [{k.VOLUME_LOW}, {k.VOLUME_HIGH}] x the median of the last "
        f"{len(previous)} accepted loads ({median})",
    )


def _value_expectations(key: str, columns: dict, destination: str) -> list:
    out, texts = [], []
    future_limit = (_now() + timedelta(hours=k.FUTURE_TOLERANCE_HOURS)).replace(tzinfo=None).isoformat(sep=" ")
    for col, spec in columns.items():
        full, dtype = f"{key}.{col}", spec["data_type"]
        if col.startswith("_dlt"):
            continue
        if full in k.VALUE_SETS:
            values, severity = k.VALUE_SETS[full]
            out.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=col, value_set=values, severity=severity, description="known values only"
                )
            )
        if dtype in NUMERIC and k.NON_NEGATIVE.search(col) and full not in k.MAY_BE_NEGATIVE:
            out.append(gxe.ExpectColumnValuesToBeBetween(column=col, min_value=0, severity=BLOCK, description=">= 0"))
        if dtype == "double" and k.FRACTION.search(col):
            out.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=col, min_value=0, max_value=1, severity=WARN, description="a fraction in [0, 1]"
                )
            )
        if dtype in TEMPORAL and full not in k.FUTURE_OK:
            out.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=col,
                    max_value=future_limit if dtype == "timestamp" else future_limit[:10],
                    severity=BLOCK,
                    description="not in the future",
                )
            )
        if dtype == "text" and not k.HASHED.search(col) and full not in k.NOT_PERSONAL:
            texts.append(col)
    if texts:
        out.append(_personal_data_guard(texts, destination))
    return out


def _personal_data_guard(columns: list[str], destination: str) -> object:
    """One query per table: per text column, the rows holding an e-mail address or a phone number. It
    returns counts, never the values, so no personal data is copied into the results or the Data Docs."""
    if destination == "bigquery":
        quote, match = "`{}`", "regexp_contains({}, r'{}')"
    else:
        quote, match = '"{}"', "regexp_matches({}, '{}')"
    patterns = [p.replace("{", "{{").replace("}", "}}") for p in (k.EMAIL_RE, k.PHONE_RE)]  # GE's {batch} templating
    counts = " union all ".join(
        f"select '{col}' as column_name, count(*) as rows_with_contact_details from {{batch}} where "
        + " or ".join(match.format(quote.format(col), pattern) for pattern in patterns)
        for col in columns
    )
    return gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=f"select * from ({counts}) as counts where rows_with_contact_details > 0",
        severity=BLOCK,
        result_format=ROWS,
        description="no e-mail address or phone number in clear in a column that is not a salted hash",
    )
