"""The quality gates on the demo's warehouse: clean data passes; each fault injected into a copy of it
blocks the right gate and names the table, the expectation and what was observed.

The demo ran both gates on its clean load (and so wrote their row-count history); every fault goes into its
own copy of the demo's warehouse and of that history, and the gate runs on the datasets it touches:
the sources the two marts below read (the app database, API Adresse, and Adage, DMS, Firebase, Qualtrics
and Sirene for the regional KPIs).
"""

from __future__ import annotations

import json
import re
import shutil

import duckdb
import pytest
from click.testing import CliRunner

from pcdata import cli
from pcdata.steps import StepFailed, quality_gate
from warehouse import Settings

SOURCES = ["app", "api_adresse", "adage", "dms", "firebase", "qualtrics", "sirene"]
MARTS = ["mrt_regional__beneficiaries_monthly", "mrt_ml__compliance_training_offers"]


@pytest.fixture
def copy_of(demo, tmp_path, monkeypatch):
    """A copy of the demo's warehouse, of the gates' row-count history and of dbt's manifest (the marts'
    suites come from it: without it, the marts gate parses the project), with SQL faults applied to the
    warehouse; PCDATA__HOME points at it."""

    def make(*statements: str) -> Settings:
        home = tmp_path / "home"
        home.mkdir()
        demo.copy_warehouse(home / "warehouse.duckdb")
        for kept in ("quality/history.json", "dbt/target/manifest.json"):
            (home / kept).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(demo.home / kept, home / kept)
        monkeypatch.setenv("PCDATA__HOME", str(home))
        settings = Settings.load()
        with duckdb.connect(str(settings.warehouse)) as conn:
            for sql in statements:
                conn.execute(sql)
        return settings

    return make


def test_clean_data_passes_both_gates_and_writes_data_docs(demo):
    out = demo.run.stdout
    raw = re.search(r"quality raw: PASSED: (\d+) tables, (\d+) expectations; blocking: 0,", out)
    marts = re.search(r"quality marts: PASSED: (\d+) tables, (\d+) expectations; blocking: 0,", out)
    assert raw is not None and marts is not None, out[-3000:]
    # every raw table of every source and every mart was validated, with something to say about each
    assert int(raw.group(1)) >= 60 and int(raw.group(2)) > 10 * int(raw.group(1))
    assert int(marts.group(1)) >= 20 and int(marts.group(2)) >= int(marts.group(1))
    assert f"Data Docs: {demo.home / 'reports' / 'quality' / 'index.html'}" in out
    assert (demo.home / "reports" / "quality" / "index.html").exists()
    # the clean load is history now: volume is checked against it next time
    history = json.loads((demo.home / "quality" / "history.json").read_text())
    assert len(history["raw_app.booking"]) == 1


FAULTS = {
    # table: (SQL injecting the fault, expectation named, what the observed value must mention)
    "raw_app.booking": (
        "insert into raw_app.booking select * from raw_app.booking order by id limit 1",
        "expect_column_values_to_be_unique(id)",
        "2 of",  # both copies of the row
    ),
    "raw_firebase.events": (
        "alter table raw_firebase.events alter column event_name drop not null; "
        "update raw_firebase.events set event_name = null where event_bundle_sequence_id = 1 "
        "and user_pseudo_id = (select min(user_pseudo_id) from raw_firebase.events)",
        "expect_column_values_to_not_be_null(event_name)",
        "1 of",
    ),
    "raw_app.deposit": (
        "update raw_app.deposit set amount = -amount where id = (select min(id) from raw_app.deposit)",
        "expect_column_values_to_be_between(amount) [>= 0]",
        "1 of",
    ),
    "raw_app.offer": (
        "update raw_app.offer set date_created = current_date + interval 30 day "
        "where id = (select min(id) from raw_app.offer)",
        "expect_column_values_to_be_between(date_created) [not in the future]",
        "1 of",
    ),
    "raw_app.venue": (
        "alter table raw_app.venue rename column siret to siret_number",
        "expect_table_columns_to_match_set",
        "siret_number",
    ),
    "raw_app.offerer": (
        "alter table raw_app.offerer alter column date_created type varchar",
        "expect_table_column_types_to_match",
        "date_created",
    ),
    "raw_app.stock": (
        "delete from raw_app.stock where id % 5 <> 0",
        "expect_table_row_count_to_be_between",
        "",
    ),
    "raw_app.user": (
        "update raw_app.user set city = 'Jeanne Martin <jeanne.martin@example.org>' "
        "where id = (select min(id) from raw_app.user)",
        "unexpected_rows_expectation [no e-mail address or phone number",
        "('city', 1)",
    ),
}


def test_each_raw_fault_blocks_the_raw_gate_naming_table_expectation_and_observed_value(copy_of):
    copy_of(*(sql for sql, _, _ in FAULTS.values()))
    outcome = CliRunner().invoke(cli.main, ["quality", "raw", *SOURCES])
    assert outcome.exit_code == 1, outcome.output
    lines = [line for line in outcome.output.splitlines() if line.strip().startswith("BLOCK")]
    for table, (_, expectation, observed) in FAULTS.items():
        named = [line for line in lines if f"BLOCK {table}:" in line and expectation in line]
        assert named, f"{table}: no blocking {expectation} in\n" + "\n".join(lines)
        assert any(observed in line for line in named), named
    # the address itself is never copied into the summary (nor the stored results)
    assert "jeanne.martin" not in outcome.output
    assert not any("raw_api_adresse" in line for line in lines)  # the untouched dataset stays green
    stock = next(line for line in lines if "raw_app.stock" in line)
    assert "observed" in stock and "median" in stock


def test_a_share_above_one_blocks_the_marts_gate_and_stops_the_pipeline(copy_of):
    settings = copy_of(
        "update marts_regional.mrt_regional__beneficiaries_monthly set share_of_credit_spent = 1.5 "
        "where share_of_credit_spent is not null and month = (select max(month) "
        "from marts_regional.mrt_regional__beneficiaries_monthly)"
    )
    with pytest.raises(StepFailed) as failed:
        quality_gate(settings, "marts", MARTS)
    message = str(failed.value)
    assert "step 'quality marts' failed" in message
    assert "marts_regional.mrt_regional__beneficiaries_monthly" in message
    assert "expect_column_values_to_be_between(share_of_credit_spent) [a share in [0, 1]]" in message


def _kpis_node() -> tuple[dict, list[dict], dict[str, str]]:
    """A long-format KPI mart as the marts' YAML describes it (the regional team's monthly KPIs)."""
    columns = ["month", "dimension_name", "dimension_value", "kpi_name", "kpi_type", "numerator", "denominator", "kpi"]
    node = {"name": "mrt_regional__monthly_kpis", "columns": {c: {} for c in columns}}
    grain = {
        "test_metadata": {
            "name": "unique_combination_of_columns",
            "kwargs": {"combination_of_columns": ["month", "dimension_name", "dimension_value", "kpi_name"]},
        }
    }
    additivity = {
        "test_metadata": {"name": "kpi_additivity", "kwargs": {"columns": ["numerator", "denominator"]}},
        "config": {"where": "kpi_type != 'median'"},
    }
    types = dict.fromkeys(columns, "VARCHAR") | {"month": "DATE", "numerator": "DOUBLE", "denominator": "DOUBLE"}
    return node, [grain, additivity], types | {"kpi": "DOUBLE"}


def test_a_long_kpi_mart_gets_share_additivity_and_unknown_geography_checks_from_its_yaml(copy_of):
    from quality.gate import run
    from quality.marts import _expectations
    from quality.raw import TableSuite

    rows = [
        # month, level, code, kpi, type, numerator, denominator, kpi
        ("2025-01-01", "NAT", "FR", "beneficiaries_new", "count", 10, None, 10),
        ("2025-01-01", "REG", "93", "beneficiaries_new", "count", 10, None, 10),
        ("2025-01-01", "DEP", "13", "beneficiaries_new", "count", 4, None, 4),
        ("2025-01-01", "DEP", "-1", "beneficiaries_new", "count", 5, None, 5),  # 9 != 10, half unknown
        ("2025-01-01", "NAT", "FR", "beneficiaries_ever_booked_share", "share", 3, 2, 1.5),
    ]
    values = ", ".join(
        "('{}', '{}', '{}', '{}', '{}', {}, {}, {})".format(*(("null" if v is None else v) for v in r)) for r in rows
    )
    settings = copy_of(
        "create or replace table marts_regional.mrt_regional__monthly_kpis (month date, "
        "dimension_name varchar, dimension_value varchar, kpi_name varchar, kpi_type varchar, numerator double, "
        "denominator double, kpi double)",
        f"insert into marts_regional.mrt_regional__monthly_kpis values {values}",
    )
    node, tests, types = _kpis_node()
    suite = TableSuite("marts_regional.mrt_regional__monthly_kpis", "marts_regional", "mrt_regional__monthly_kpis")
    suite.expectations = [e for e in _expectations(node, tests, types) if "mart total" not in (e.description or "")]
    result, _ = run(settings, "marts", [suite])
    failures = {f.expectation.split(" [", 1)[1][:-1]: f for f in result.failures}
    assert failures["share KPIs in [0, 1]"].blocking
    assert "beneficiaries_ever_booked_share" in failures["share KPIs in [0, 1]"].observed
    additivity = failures[
        "numerator adds up across geography levels (each level sums to NAT) where kpi_type != 'median'"
    ]
    assert additivity.blocking and "'DEP', 9.0, 10.0" in additivity.observed
    unknown = failures["at most 10% of each count in the unknown department"]
    assert not unknown.blocking and "beneficiaries_new" in unknown.observed
    assert len(result.failures) == 3, [f.line() for f in result.failures]
