"""The regional marts against the world's ground truth (sandbox/truth/regional.py), end to end.

Every KPI family of mrt_regional__monthly_kpis is compared, department by department and month by
month, with figures computed from the world's own objects; counts and sums must be equal (amounts to
the cent), ratios must be the ratio of the summed parts. The national level must equal the sum of the
departments, and mrt_regional__departments must hold the world's current counts.
"""

from __future__ import annotations

import statistics
from datetime import date

import pytest

from sandbox.truth import regional as truth

MART = "marts_regional.mrt_regional__monthly_kpis"


def _dep_rows(demo, kpi_filter: str) -> dict[tuple[str, date, str], tuple[float, float | None]]:
    rows = demo.query(
        f"select kpi_name, month, dimension_value, numerator, denominator from {MART} "
        f"where dimension_name = 'DEP' and {kpi_filter}"
    )
    return {(k, m, d): (float(n), None if den is None else float(den)) for k, m, d, n, den in rows}


def _non_zero(figures: dict) -> dict:
    """Rows with something in them, amounts rounded to the cent (the mart is dense, the truth sparse)."""
    return {
        key: (round(num, 2), None if den is None else round(den, 2))
        for key, (num, den) in figures.items()
        if num != 0 or (den or 0) != 0
    }


def _assert_family(demo, kpi_filter: str, expected: dict) -> None:
    got = _non_zero(_dep_rows(demo, kpi_filter))
    want = _non_zero(expected)
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want))[:5]
    wrong = sorted((k, got[k], want[k]) for k in set(got) & set(want) if got[k] != want[k])[:5]
    assert not missing and not extra and not wrong, f"missing {missing}, extra {extra}, wrong {wrong}"
    assert len(got) > 0


@pytest.fixture(scope="module")
def school_years(demo) -> set[int]:
    rows = demo.query(
        f"select distinct month from {MART} where kpi_name = 'adage_involved_students_share' and dimension_name = 'NAT'"
    )
    return {m.year - 2014 for (m,) in rows}


def test_beneficiaries_and_user_side_bookings_equal_the_ground_truth(demo):
    _assert_family(
        demo,
        "kpi_family in ('beneficiaries', 'bookings_user_side')",
        truth.beneficiary_kpis(demo.world),
    )


def test_app_engagement_equals_the_ground_truth(demo):
    _assert_family(demo, "kpi_family = 'engagement'", truth.engagement_kpis(demo.world))


def test_booking_mix_equals_the_ground_truth(demo):
    _assert_family(demo, "kpi_family = 'booking_mix'", truth.booking_mix_kpis(demo.world))


def test_venue_side_bookings_and_supply_equal_the_ground_truth(demo):
    _assert_family(demo, "kpi_family in ('bookings_venue_side', 'supply')", truth.supply_kpis(demo.world))


def test_adage_collective_kpis_equal_the_ground_truth(demo, school_years):
    assert school_years, "no Adage school year in the mart"
    _assert_family(demo, "kpi_family = 'collective'", truth.adage_kpis(demo.world, school_years))


def test_dms_dossier_counts_equal_the_ground_truth(demo):
    _assert_family(demo, "kpi_family = 'dms' and kpi_type != 'median'", truth.dms_kpis(demo.world))


def test_dms_median_processing_days_equal_the_ground_truth_at_every_level(demo):
    days = truth.dms_processing_days(demo.world)
    rows = demo.query(
        f"select kpi_name, month, dimension_name, dimension_value, denominator, kpi from {MART} "
        "where kpi_type = 'median'"
    )
    got = {(k, m, level, value): (float(den), kpi) for k, m, level, value, den, kpi in rows}
    want: dict[tuple, list[int]] = {}
    for (kpi, month, dep), values in days.items():
        region, academy = truth.region_and_academy(dep)
        for level, value in (("NAT", "FR"), ("REG", region), ("ACAD", academy), ("DEP", dep)):
            want.setdefault((kpi, month, level, value), []).extend(values)
    assert set(got) == set(want)
    for key, values in want.items():
        assert got[key] == (len(values), pytest.approx(statistics.median(values))), key


def test_satisfaction_kpis_equal_the_ground_truth(demo):
    _assert_family(demo, "kpi_family = 'satisfaction'", truth.satisfaction_kpis(demo.world))


def test_every_kpi_of_the_catalogue_is_in_the_mart(demo):
    catalogue = {k for (k,) in demo.query("select kpi_name from seeds.regional_kpis")}
    in_mart = {k for (k,) in demo.query(f"select distinct kpi_name from {MART}")}
    assert in_mart == catalogue and len(catalogue) >= 41


def test_national_figures_are_the_sums_of_the_departments_and_of_the_regions(demo):
    rows = demo.query(
        f"""
        select kpi_name, month, dimension_name, sum(numerator), sum(denominator)
        from {MART} where kpi_type != 'median'
        group by 1, 2, 3
        """
    )
    by_level: dict[str, dict] = {}
    for kpi, month, level, num, den in rows:
        by_level.setdefault(level, {})[(kpi, month)] = (
            round(float(num), 2),
            None if den is None else round(float(den), 2),
        )
    assert by_level["NAT"] == by_level["REG"] == by_level["ACAD"] == by_level["DEP"]


def test_ratios_are_computed_from_summed_parts(demo):
    rows = demo.query(
        f"""
        select numerator, denominator, kpi from {MART}
        where kpi_type in ('share', 'ratio', 'nps') and dimension_name in ('NAT', 'REG')
        """
    )
    assert rows
    for num, den, kpi in rows:
        if den:
            assert kpi == pytest.approx(float(num) / float(den))
        else:
            assert kpi is None


def test_national_beneficiaries_match_the_world(demo):
    # the sum over months of new beneficiaries is every user who got a deposit, once
    (new,) = demo.query(
        f"select sum(numerator) from {MART} where dimension_name = 'NAT' and kpi_name = 'beneficiaries_new'"
    )[0]
    assert int(new) == len({d["userId"] for d in demo.world.deposits})


def test_departments_mart_holds_the_world_counts(demo):
    columns = ["users", "beneficiaries", "venues", "offerers", "active_offerers", "adage_partners"]
    rows = demo.query(f"select department_code, {', '.join(columns)} from marts_regional.mrt_regional__departments")
    got = {dep: {c: v for c, v in zip(columns, values, strict=True) if v} for dep, *values in rows}
    got = {dep: counts for dep, counts in got.items() if counts}
    assert got == truth.department_counts(demo.world)
    (n,) = demo.query("select count(*) from marts_regional.mrt_regional__departments")[0]
    (seed,) = demo.query("select count(*) from seeds.geo_departments")[0]
    assert n == seed == 108


def test_demo_summary_names_the_regional_marts_and_report(demo):
    out = demo.run.stdout
    for name in ("mrt_regional__departments", "mrt_regional__monthly_kpis", "report regional"):
        assert name in out
    report = demo.home / "reports" / "regional" / "index.html"
    assert report.exists() and "<svg" in report.read_text(encoding="utf-8")
