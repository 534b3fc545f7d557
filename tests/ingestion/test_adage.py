"""Adage source against its sandbox: cultural partners (incremental) and involved-student statistics."""

from datetime import datetime, timedelta

import pytest

from ingestion.pipeline import IngestionFailed, Runner
from sandbox.vendors.adage.world import build

YEARS = "[11, 12]"


@pytest.fixture
def adage_env(monkeypatch):
    monkeypatch.setenv("SOURCES__ADAGE__YEAR_IDS", YEARS)
    monkeypatch.setenv("SOURCES__ADAGE__CALLS_PER_SECOND", "50")


def _slice(world):
    return world.slice("adage", build)


def _expected_stats_rows(world, years=(11, 12)) -> int:
    n = 0
    for y in years:
        for block in _slice(world)["stats"][y].values():
            for entry in block.values():
                n += 1 + (len(entry["niveaux"]) if isinstance(entry["niveaux"], dict) else 0)
    return n


def test_full_load_equals_the_world_with_regional_fields(world, settings, duck, vendor, adage_env):
    result = Runner(settings).run("adage")
    partners = _slice(world)["partners"]
    assert result.rows_loaded["partenaire_culturel"] == len(partners)
    rows = duck(
        "select id, siret, venue_id, region_id, region_libelle, academie_id, academie_libelle, commune_id,"
        " commune_departement, latitude, longitude, synchro_pass, date_modification from raw_adage.partenaire_culturel"
    )
    assert {r[0] for r in rows} == {p["id"] for p in partners}
    # every partner is one of the world's venues (SIRET), with the venue's commune and coordinates
    venues = {v["siret"]: v for v in world.venues if v["siret"]}
    for (
        _pid,
        siret,
        venue_id,
        region_id,
        region,
        academy_id,
        academy,
        citycode,
        dept,
        lat,
        lon,
        synced,
        modified,
    ) in rows:
        v = venues[siret]
        assert citycode == v["_commune"].citycode and dept == v["_commune"].department_code.rjust(3, "0")
        assert (lat, lon) == (v["latitude"], v["longitude"])
        assert venue_id in (None, v["id"]) and synced == (venue_id is not None)
        assert modified.tzinfo is not None
        if v["_commune"].department_code.isdigit() and len(v["_commune"].department_code) == 2:
            assert region_id and region and academy_id and academy
    # the stats: one 'all' row per department/academy/region and one per school level where Adage has a breakdown
    assert result.rows_loaded["involved_students"] == _expected_stats_rows(world)
    paris = _slice(world)["stats"][12]["departements"]["075"]
    assert duck(
        "select involved_students, total_involved_students, institutions, total_institutions"
        " from raw_adage.involved_students where educational_year_adage_id = 12 and metric_name = 'departements'"
        " and metric_id = '075' and level = 'all'"
    ) == [(paris["eleves"], paris["totalEleves"], paris["etabs"], paris["totalEtabs"])]
    # niveaux comes both as [] (no breakdown) and as an object keyed by level id: both are read
    shapes = {
        type(e["niveaux"]).__name__ for y in (11, 12) for b in _slice(world)["stats"][y].values() for e in b.values()
    }
    assert shapes == {"list", "dict"}
    assert duck("select count(distinct level) from raw_adage.involved_students where level <> 'all'")[0][0] == 8


def test_incremental_rerun_asks_from_the_last_modification_with_a_lookback(
    world, settings, duck, vendor, adage_env, monkeypatch
):
    monkeypatch.setenv("SOURCES__ADAGE__LOOKBACK_HOURS", str(24 * 60))  # 60 days of overlap
    runner = Runner(settings)
    runner.run("adage")
    partners = _slice(world)["partners"]
    latest = max(datetime.fromisoformat(p["dateModification"]) for p in partners)
    overlap = [p for p in partners if datetime.fromisoformat(p["dateModification"]) >= latest - timedelta(days=60)]
    assert 0 < len(overlap) < len(partners)
    second = runner.run("adage")
    assert second.rows_loaded["partenaire_culturel"] == len(overlap)  # only the lookback window is asked again
    assert duck("select count(*), count(distinct id) from raw_adage.partenaire_culturel")[0] == (
        len(partners),
        len(partners),
    )
    n = _expected_stats_rows(world)
    assert duck("select count(*) from raw_adage.involved_students")[0][0] == n  # the snapshot replaces itself


def test_wrong_key_fails_with_a_clear_message_that_hides_the_key(settings, monkeypatch, adage_env):
    monkeypatch.setenv("SOURCES__ADAGE__API_KEY", "not-the-key-s3cret")
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("adage")
    message = str(err.value)
    assert "adage: HTTP 401" in message and "partenaire-culturel" in message and "credentials" in message
    assert "s3cret" not in message


@pytest.mark.parametrize("faults", [[429, 503], ["drop", "malformed", 502]])
def test_throttling_and_server_errors_are_recovered_without_loss(world, settings, duck, vendor, adage_env, faults):
    vendor("adage").faults(fail_next=faults)
    Runner(settings).run("adage")
    n = len(_slice(world)["partners"])
    assert duck("select count(*), count(distinct id) from raw_adage.partenaire_culturel")[0] == (n, n)
    assert duck("select count(*) from raw_adage.involved_students")[0][0] == _expected_stats_rows(world)
    assert vendor("adage").stats()["faults"] == len(faults)


def test_unknown_school_year_is_skipped_and_schema_drift_is_kept(world, settings, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__ADAGE__YEAR_IDS", "[3, 12]")  # 2017-18: before Adage's pass Culture stats
    vendor("adage").faults(schema_drift=True)
    result = Runner(settings).run("adage")
    assert result.rows_loaded["involved_students"] == _expected_stats_rows(world, (12,))
    assert duck("select count(date_creation) from raw_adage.partenaire_culturel")[0][0] == len(
        _slice(world)["partners"]
    )
