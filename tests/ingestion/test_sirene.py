"""Sirene source against its sandbox: legal units and establishments of offerers and venues."""

from datetime import datetime

import pytest

from ingestion.pipeline import IngestionFailed, Runner
from sandbox.app_database import write_snapshot

T1 = datetime(2025, 1, 1)


@pytest.fixture(autouse=True)
def lifted_quota(vendor, monkeypatch):
    """INSEE's 30 calls a minute on both sides is a call every 2 s: lifted for the tests whose subject is not the
    pacing (the pacing test sets its own quota)."""
    vendor("sirene").rate_limit(600, 60)
    monkeypatch.setenv("SOURCES__SIRENE__CALLS_PER_MINUTE", "600")


def _runner(world, app_engine, settings, as_of=None) -> Runner:
    write_snapshot(app_engine, world.snapshot(as_of))
    runner = Runner(settings, app_engine)
    runner.run("app")
    return runner


def test_full_load_equals_the_world_with_non_diffusible_units_masked(world, app_engine, settings, duck, vendor):
    result = _runner(world, app_engine, settings).run("sirene")
    snap = world.snapshot()
    sirens = {o["siren"] for o in snap["offerer"]}
    sirets = {v["siret"] for v in snap["venue"] if v["siret"]}
    assert result.rows_loaded["unites_legales"] == len(sirens)
    assert result.rows_loaded["etablissements"] == len(sirets)
    assert {s for (s,) in duck("select siren from raw_sirene.unites_legales where lookup_status = 'found'")} == sirens
    hidden = {o["siren"] for o in world.offerers if o["_non_diffusible"]} & sirens
    assert hidden, "the world should hold non-diffusible units"
    masked = duck("select siren, denomination_unite_legale from raw_sirene.unites_legales where is_non_diffusible")
    assert {s for s, _ in masked} == hidden and all(name is None for _, name in masked)  # '[ND]' never stored
    # establishments carry the commune code that regional reporting needs
    communes = {v["siret"]: v["_commune"].citycode for v in world.venues if v["siret"]}
    for siret, citycode in duck("select siret, code_commune_etablissement from raw_sirene.etablissements"):
        assert communes[siret] == citycode


def test_deep_paging_follows_the_cursor_to_the_end(world, app_engine, settings, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__SIRENE__PAGE_SIZE", "7")  # many small pages, under the lifted quota
    result = _runner(world, app_engine, settings).run("sirene")
    n = len({o["siren"] for o in world.snapshot()["offerer"]})
    assert result.rows_loaded["unites_legales"] == n
    calls = [path for method, path in vendor("sirene").stats()["calls"] if path.rstrip("/") == "/siren"]
    assert len(calls) > n // 7  # one call per page of 7, plus the empty page that ends each cursor


def test_rerun_asks_only_for_new_units(world, app_engine, settings, vendor):
    runner = _runner(world, app_engine, settings, T1)
    runner.run("sirene")
    assert runner.run("sirene").rows_loaded == {}  # everything fresh: no call at all
    write_snapshot(app_engine, world.snapshot())
    runner.run("app")
    new = {o["siren"] for o in world.snapshot()["offerer"]} - {o["siren"] for o in world.snapshot(T1)["offerer"]}
    assert new
    assert runner.run("sirene").rows_loaded["unites_legales"] == len(new)


def test_wrong_key_fails_with_a_clear_message_that_hides_the_key(world, app_engine, settings, monkeypatch):
    runner = _runner(world, app_engine, settings)
    monkeypatch.setenv("SOURCES__SIRENE__API_KEY", "not-the-key-s3cret")
    with pytest.raises(IngestionFailed) as err:
        runner.run("sirene")
    assert "HTTP 401" in str(err.value) and "credentials" in str(err.value)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("faults", [[429, 429], [503, "drop"], ["malformed"]])
def test_quota_and_server_errors_are_recovered_without_loss(world, app_engine, settings, duck, vendor, faults):
    vendor("sirene").faults(fail_next=faults)
    _runner(world, app_engine, settings).run("sirene")
    n = len({o["siren"] for o in world.snapshot()["offerer"]})
    assert duck("select count(*), count(distinct siren) from raw_sirene.unites_legales")[0] == (n, n)
    assert vendor("sirene").stats()["faults"] == len(faults)


def test_client_paces_itself_under_the_quota(world, app_engine, settings, vendor, monkeypatch):
    vendor("sirene").rate_limit(3, 2.0)  # a tight quota: 3 calls per 2 s
    monkeypatch.setenv("SOURCES__SIRENE__CALLS_PER_MINUTE", "80")  # just under it
    monkeypatch.setenv("SOURCES__SIRENE__BATCH_SIZE", "20")
    _runner(world, app_engine, settings).run("sirene")
    stats = vendor("sirene").stats()
    assert stats["served"] >= 5 and stats["rate_limited"] == 0
