"""Suites for the marts, derived from the dbt manifest (the marts' YAML): a mart that lands later
gets its checks without a list to edit here.

- grain: the `unique_combination_of_columns` / `unique` tests of the model, unique and not null;
- described columns present;
- shares: numeric columns named share_* / *_share in [0, 1] (block), *_rate / rate_* (warn);
- long KPI marts (kpi_name, kpi, dimension_name, numerator): share KPIs in [0, 1]; count and amount
  numerators add up across geography levels (each level sums to the national figure);
- geography: the unknown member ('-1') holds at most UNKNOWN_SHARE_MAX of each additive measure;
- totals that must match the raw layer (RAW_TOTALS, per mart: what the mart promises in its YAML).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import great_expectations.expectations as gxe

from warehouse import Settings, query

from .knowledge import BLOCK, WARN
from .raw import ROWS, TableSuite

UNKNOWN = "-1"
UNKNOWN_SHARE_MAX = 0.10
ADDITIVITY_TOLERANCE = 0.005  # relative: rounding of amounts
GEO_COLUMNS = ("department_code", "region_code", "academy_code")
SHARE = re.compile(r"(^share_|_share$|^share$)")
RATE = re.compile(r"(^rate_|_rate$)")
NUMERIC_TYPES = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UBIGINT|DOUBLE|FLOAT|REAL|DECIMAL|NUMERIC|INT64|FLOAT64|BIGNUMERIC)"
)

# Totals each mart must share with the raw layer: (what, mart aggregate over {batch}, raw aggregate).
RAW_TOTALS: dict[str, list[tuple[str, str, str]]] = {
    "mrt_regional__beneficiaries_monthly": [
        ("beneficiaries", "sum(new_beneficiaries)", "select count(distinct user_id) from raw_app.deposit"),
        ("bookings", "sum(bookings)", "select count(*) from raw_app.booking where status <> 'CANCELLED'"),
        (
            "amount spent",
            "sum(amount_spent)",
            "select sum(amount * quantity) from raw_app.booking where status <> 'CANCELLED'",
        ),
    ],
    "mrt_regional__monthly_kpis": [
        (
            "new beneficiaries (national)",
            "sum(case when dimension_name = 'NAT' and kpi_name = 'beneficiaries_new' then numerator end)",
            "select count(distinct user_id) from raw_app.deposit",
        ),
    ],
    "mrt_ml__compliance_training_offers": [
        (
            "manually reviewed offers",
            "count(*)",
            "select count(*) from raw_app.offer where last_validation_type = 'MANUAL'",
        ),
    ],
}


def manifest(settings: Settings) -> dict:
    """dbt's manifest of the last dbt command (`pcdata transform` writes it); parsed afresh when absent."""
    path = settings.dbt_target / "manifest.json"
    if not path.exists():
        from warehouse.dbt import dbt

        dbt(settings, "parse")
    return json.loads(Path(path).read_text())


def mart_columns(settings: Settings, schemas: set[str]) -> dict[tuple[str, str], dict[str, str]]:
    if settings.destination == "bigquery":  # one INFORMATION_SCHEMA per dataset: the region's view needs more rights
        sql = " union all ".join(
            f"select table_schema, table_name, column_name, data_type from {schema}.INFORMATION_SCHEMA.COLUMNS"
            for schema in sorted(schemas)
        )
    else:
        sql = (
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            f"where table_schema like '{settings.schema_prefix}marts_%'"
        )
    rows = query(settings, sql) if sql else []
    out: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column, dtype in rows:
        out.setdefault((schema, table), {})[column] = dtype.upper()
    return out


def mart_suites(settings: Settings, marts: list[str] | None = None) -> list[TableSuite]:
    """One suite per mart model (or per mart named in MARTS: model names or mart schemas)."""
    nodes = manifest(settings)["nodes"]
    tests: dict[str, list[dict]] = {}
    for node in nodes.values():
        if node["resource_type"] == "test" and node.get("attached_node"):
            tests.setdefault(node["attached_node"], []).append(node)
    schemas = {
        n["schema"] for n in nodes.values() if n["resource_type"] == "model" and n["schema"].startswith("marts_")
    }
    warehouse = mart_columns(settings, schemas)
    suites = []
    for uid, node in sorted(nodes.items()):
        if node["resource_type"] != "model" or not node["schema"].startswith("marts_"):
            continue
        name = node.get("alias") or node["name"]
        if marts and not {node["name"], node["schema"]} & set(marts):
            continue
        suite = TableSuite(f"{node['schema']}.{name}", node["schema"], name)
        actual = warehouse.get((node["schema"], name))
        if actual is None:
            suite.missing = "model in the dbt project but not built in the warehouse"
        else:
            suite.expectations = _expectations(node, tests.get(uid, []), actual)
        suites.append(suite)
    return suites


def _test_args(test: dict) -> tuple[str, dict]:
    meta = test.get("test_metadata") or {}
    return meta.get("name", ""), meta.get("kwargs") or {}


def _expectations(node: dict, tests: list[dict], actual: dict[str, str]) -> list:
    model = node["name"]
    described = list(node.get("columns") or {})
    out: list = []
    if described:
        out.append(
            gxe.ExpectTableColumnsToMatchSet(
                column_set=described, exact_match=False, severity=BLOCK, description="every described column is there"
            )
        )
    grain: list[str] = []
    for test in tests:
        kind, kwargs = _test_args(test)
        if kind == "unique_combination_of_columns":
            grain = list(kwargs.get("combination_of_columns") or [])
            description = f"grain: one row per {' x '.join(grain)}"
            if len(grain) == 1:  # GE's compound expectation wants two columns at least
                out.append(gxe.ExpectColumnValuesToBeUnique(column=grain[0], severity=BLOCK, description=description))
            elif grain:
                out.append(
                    gxe.ExpectCompoundColumnsToBeUnique(column_list=grain, severity=BLOCK, description=description)
                )
        elif kind == "unique" and kwargs.get("column_name"):
            grain = grain or [kwargs["column_name"]]
            out.append(
                gxe.ExpectColumnValuesToBeUnique(column=kwargs["column_name"], severity=BLOCK, description="grain")
            )
    for col in grain:
        out.append(gxe.ExpectColumnValuesToNotBeNull(column=col, severity=BLOCK, description="grain column not null"))

    numeric = [c for c, t in actual.items() if NUMERIC_TYPES.match(t)]
    for col in numeric:
        if SHARE.search(col) or RATE.search(col):
            out.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=col,
                    min_value=0,
                    max_value=1,
                    severity=BLOCK if SHARE.search(col) else WARN,
                    description="a share in [0, 1]",
                )
            )
    if {"kpi_name", "kpi"} <= set(actual):
        out += _long_kpis(actual, tests)
    else:
        out += _unknown_geography(grain, numeric, tests)
    for what, mart_sql, raw_sql in RAW_TOTALS.get(model, []):
        out.append(
            gxe.UnexpectedRowsExpectation(
                result_format=ROWS,
                unexpected_rows_query=(
                    "select m.total as mart_total, r.total as raw_total "
                    f"from (select {mart_sql} as total from {{batch}}) m "
                    f"cross join (select ({raw_sql}) as total) r "
                    "where coalesce(m.total, 0) <> coalesce(r.total, 0)"
                ),
                severity=BLOCK,
                description=f"{what}: mart total equals the raw layer's",
            )
        )
    return out


def _additivity(actual: dict[str, str], tests: list[dict]) -> tuple[list[str], str]:
    """The columns that add up across levels and the rows where they do: from the mart's own
    `kpi_additivity` test when it has one, else the numerators of counts and amounts."""
    for test in tests:
        kind, kwargs = _test_args(test)
        if kind == "kpi_additivity":
            where = (test.get("config") or {}).get("where") or "1 = 1"
            return [c for c in kwargs.get("columns") or ["numerator"] if c in actual], where
    return ["numerator"], "kpi_type in ('count', 'amount')"


def _long_kpis(actual: dict[str, str], tests: list[dict]) -> list:
    share = "(kpi_name like '%share%'" + (" or kpi_type = 'share')" if "kpi_type" in actual else ")")
    out = [
        gxe.UnexpectedRowsExpectation(
            result_format=ROWS,
            unexpected_rows_query=f"select * from {{batch}} where {share} and (kpi < 0 or kpi > 1)",
            severity=BLOCK,
            description="share KPIs in [0, 1]",
        )
    ]
    if {"dimension_name", "dimension_value", "numerator", "kpi_type", "month"} <= set(actual):
        columns, where = _additivity(actual, tests)
        for col in columns:
            out.append(
                gxe.UnexpectedRowsExpectation(
                    result_format=ROWS,
                    unexpected_rows_query=(
                        f"with levels as (select month, kpi_name, dimension_name, sum({col}) as total from {{batch}} "
                        f"where {where} group by month, kpi_name, dimension_name), "
                        "national as (select month, kpi_name, total from levels where dimension_name = 'NAT') "
                        "select l.month, l.kpi_name, l.dimension_name, l.total, n.total as national_total "
                        "from levels as l inner join national as n on l.month = n.month and l.kpi_name = n.kpi_name "
                        "where l.dimension_name <> 'NAT' and "
                        f"abs(l.total - n.total) > {ADDITIVITY_TOLERANCE} * greatest(abs(n.total), 1)"
                    ),
                    severity=BLOCK,
                    description=f"{col} adds up across geography levels (each level sums to NAT) where {where}",
                )
            )
        additive = "kpi_type in ('count', 'amount')"
        out.append(
            gxe.UnexpectedRowsExpectation(
                result_format=ROWS,
                unexpected_rows_query=(
                    "select * from (select kpi_name, sum(case when dimension_value = '-1' then numerator else 0 end) "
                    "/ nullif(sum(numerator), 0) as unknown_share from {batch} "
                    f"where dimension_name = 'DEP' and {additive} group by kpi_name) as s "
                    f"where unknown_share > {UNKNOWN_SHARE_MAX}"
                ),
                severity=WARN,
                description=f"at most {UNKNOWN_SHARE_MAX:.0%} of each count in the unknown department",
            )
        )
    return out


def _unknown_geography(grain: list[str], numeric: list[str], tests: list[dict]) -> list:
    geo = next((c for c in GEO_COLUMNS if c in grain), None)
    if geo is None:
        return []
    # additive measures: the columns the YAML bounds below by 0 (counts, amounts), shares and rates aside
    measures = [
        kwargs["column_name"]
        for kind, kwargs in map(_test_args, tests)
        if kind == "accepted_range"
        and kwargs.get("min_value") == 0
        and kwargs.get("max_value") is None
        and kwargs.get("column_name") in numeric
        and not SHARE.search(kwargs["column_name"])
    ]
    if not measures:
        return []
    shares = " union all ".join(
        f"select '{m}' as measure, sum(case when {geo} = '{UNKNOWN}' then {m} else 0 end) * 1.0 "
        f"/ nullif(sum({m}), 0) as unknown_share from {{batch}}"
        for m in sorted(set(measures))
    )
    return [
        gxe.UnexpectedRowsExpectation(
            result_format=ROWS,
            unexpected_rows_query=f"select * from ({shares}) as s where unknown_share > {UNKNOWN_SHARE_MAX}",
            severity=WARN,
            description=f"at most {UNKNOWN_SHARE_MAX:.0%} of each measure in the unknown {geo.removesuffix('_code')}",
        )
    ]
