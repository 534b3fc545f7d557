"""DMS (Démarches Simplifiées GraphQL) source against its sandbox: dossiers of the pass Culture démarches."""

import math
from collections import Counter
from datetime import UTC, timedelta

import pytest

from ingestion.pipeline import IngestionFailed, Runner
from ingestion.sources import dms as dms_module
from ingestion.sources.pii import pseudonymise
from sandbox.vendors.dms.world import build

SALT = "test-salt"  # tests/conftest.py sets PII_SALT to this


def _dossiers(world):
    return world.slice("dms", build)


def _graphql_calls(vendor) -> int:
    return sum(1 for method, path in vendor("dms").stats()["calls"] if method == "POST")


def test_full_load_equals_the_world_with_regional_fields_and_no_names(world, settings, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__DMS__PAGE_SIZE", "40")
    result = Runner(settings).run("dms")
    dossiers = _dossiers(world)
    assert result.rows_loaded["dossiers"] == len(dossiers)
    assert {n for (n,) in duck("select number from raw_dms.dossiers")} == {d["number"] for d in dossiers}
    # cursor paging to the end, from after=null: one call per page of 40, and no extra call after the last page
    per_demarche = Counter(d["demarche"] for d in dossiers)
    from ingestion.sources.dms import JEUNES, PRO

    assert _graphql_calls(vendor) == sum(max(1, math.ceil(per_demarche[n] / 40)) for n in (*JEUNES, *PRO))
    by_number = {d["number"]: d for d in dossiers}
    rows = duck(
        "select number, demarche_number, state, demandeur_type, applicant_postal_code, applicant_department_code,"
        " applicant_region_code, applicant_city_code, demandeur_siret, demandeur_siren, usager_email_hash,"
        " date_derniere_modification from raw_dms.dossiers"
    )
    sirens = {o["siren"] for o in world.offerers}
    sirets = {v["siret"] for v in world.venues if v["siret"]}
    for number, demarche, state, kind, postcode, dept, region, citycode, siret, siren, email_hash, modified in rows:
        d = by_number[number]
        assert demarche == d["demarche"] and state == d["state"]
        assert (postcode, dept, citycode) == (
            d["address"]["postalCode"],
            d["address"]["departmentCode"],
            d["address"]["cityCode"],
        )
        assert region == d["address"]["regionCode"]
        assert modified.tzinfo is not None
        if d["kind"] == "jeune":
            assert kind == "PersonnePhysique" and siret is None
            user = world.user(d["userId"])
            assert email_hash == pseudonymise(user.email, SALT)  # joins raw_app.user.email_hash
            assert postcode == user.move_at(d["dateDepot"]).commune.postcode
        else:
            assert kind == "PersonneMorale" and siren in sirens and siret in sirets and siret[:9] == siren
    # personal data: no names, birth dates, emails or street addresses in the warehouse
    columns = {c for (c,) in duck("select column_name from information_schema.columns where table_schema = 'raw_dms'")}
    assert not [c for c in columns if any(w in c for w in ("nom", "prenom", "naissance", "street", "civilite"))]
    assert "usager_email_hash" in columns and not [c for c in columns if "email" in c and c != "usager_email_hash"]


def test_incremental_rerun_asks_updated_since_the_last_modification(world, settings, duck, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__DMS__LOOKBACK_MINUTES", str(60 * 24 * 45))  # 45 days of overlap
    runner = Runner(settings)
    runner.run("dms")
    dossiers = _dossiers(world)
    latest: dict[int, object] = {}
    for d in dossiers:
        latest[d["demarche"]] = max(
            latest.get(d["demarche"], d["dateDerniereModification"]), d["dateDerniereModification"]
        )
    window = [d for d in dossiers if d["dateDerniereModification"] >= latest[d["demarche"]] - timedelta(days=45)]
    assert 0 < len(window) < len(dossiers) / 2
    asked: dict[int, object] = {}
    real_page = dms_module._page

    def spy(http, demarche, first, after, updated_since):
        asked.setdefault(demarche, updated_since)
        return real_page(http, demarche, first, after, updated_since)

    monkeypatch.setattr(dms_module, "_page", spy)
    second = runner.run("dms")
    assert second.rows_loaded["dossiers"] == len(window)  # each démarche from its own cursor
    # the overlap is exactly the setting, once: updatedSince = newest modification seen - lookback
    asked_utc = {n: since.astimezone(UTC).replace(tzinfo=None) for n, since in asked.items()}  # the world is UTC
    assert asked_utc == {n: latest[n] - timedelta(days=45) for n in latest}
    assert duck("select count(*), count(distinct number) from raw_dms.dossiers")[0] == (len(dossiers), len(dossiers))


def test_wrong_token_fails_with_the_graphql_error_and_hides_the_token(settings, monkeypatch):
    monkeypatch.setenv("SOURCES__DMS__API_TOKEN", "not-the-token-s3cret")
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("dms")
    message = str(err.value)
    assert "unauthorized" in message and "hidden due to permissions" in message and "token" in message
    assert "s3cret" not in message


@pytest.mark.parametrize("faults", [[429, 503, "drop"], ["malformed", "gql_timeout", "gql_timeout"]])
def test_throttling_server_errors_and_graphql_timeouts_are_recovered_without_loss(
    world, settings, duck, vendor, faults
):
    vendor("dms").faults(fail_next=faults)
    Runner(settings).run("dms")
    n = len(_dossiers(world))
    assert duck("select count(*), count(distinct number) from raw_dms.dossiers")[0] == (n, n)
    assert vendor("dms").stats()["faults"] == len(faults)


def test_graphql_errors_are_never_loaded_as_an_empty_page(world, settings, duck, vendor, monkeypatch):
    runner = Runner(settings)
    runner.run("dms")
    n = len(_dossiers(world))
    monkeypatch.setenv("SOURCES__DMS__MAX_ATTEMPTS", "2")
    # HTTP 200 with an `errors` array on the 3rd call (for invalid_null, beside an EMPTY page): each run fails...
    for fault, code in (
        ("gql_invalid_null", "invalid_null"),
        ("gql_not_found", "not_found"),
        ("gql_timeout", "timeout"),
    ):
        vendor("dms").faults(fail_next=[None, None, fault, fault])
        with pytest.raises(IngestionFailed) as err:
            runner.run("dms")
        assert f"{code}:" in str(err.value) and "HTTP 200" in str(err.value)
        assert duck("select count(*) from raw_dms.dossiers")[0][0] == n
    # ...and no cursor moved: the next run loads what a plain incremental run loads
    vendor("dms").faults(fail_next=[])
    again = runner.run("dms")
    assert again.rows_loaded.get("dossiers", 0) > 0
    assert duck("select count(*), count(distinct number) from raw_dms.dossiers")[0] == (n, n)


def test_schema_drift_a_new_champ_type_is_ignored(world, settings, duck, vendor):
    vendor("dms").faults(schema_drift=True)
    Runner(settings).run("dms")
    n = len(_dossiers(world))
    assert duck("select count(*), count(applicant_department_code) from raw_dms.dossiers")[0] == (n, n)
