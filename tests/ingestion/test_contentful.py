"""Contentful source against its sandbox: the home page CMS as entries, links, playlists and tags."""

import json
import logging
import time

import pytest

from ingestion.pipeline import IngestionFailed, Runner
from sandbox.vendors.contentful.world import build


def _cms(world):
    return world.slice("contentful", build)


def _links(cms):
    """(parent, field, position, child, linkType) of every link in the world's entries."""
    out = []
    for e in cms.entries:
        for name, value in e["fields"].items():
            items = value if isinstance(value, list) else [value]
            for pos, v in enumerate(items):
                if isinstance(v, dict) and v.get("sys", {}).get("type") == "Link":
                    out.append(
                        (e["id"], name, pos if isinstance(value, list) else 0, v["sys"]["id"], v["sys"]["linkType"])
                    )
    return out


def test_full_load_equals_the_cms_with_links_resolved(world, settings, duck, vendor, monkeypatch, caplog):
    monkeypatch.setenv("SOURCES__CONTENTFUL__PAGE_SIZE", "5")
    from ingestion.sources.contentful import DEFAULT_CONTENT_TYPES

    monkeypatch.setenv("SOURCES__CONTENTFUL__CONTENT_TYPES", json.dumps([*DEFAULT_CONTENT_TYPES, "retiredModule"]))
    with caplog.at_level(logging.WARNING, logger="pcdata.ingestion.contentful"):
        result = Runner(settings).run("contentful")
    cms = _cms(world)
    assert "retiredModule" in caplog.text and "skipped" in caplog.text  # unknown content type: a warning, not a crash
    assert result.rows_loaded["entry"] == len(cms.entries)
    assert {i for (i,) in duck("select id from raw_contentful.entry")} == {e["id"] for e in cms.entries}
    types = dict(duck("select id, content_type from raw_contentful.entry"))
    assert all(types[e["id"]] == e["content_type"] for e in cms.entries)
    # every link, resolved or not, with its field and position
    links = _links(cms)
    got = duck(
        "select parent_entry_id, field, position, child_id, child_type, is_resolved, child_content_type "
        "from raw_contentful.relationship"
    )
    assert {r[:5] for r in got} == set(links) and len(got) == len(links)
    by_id = cms.by_id()
    unresolved = {r[3] for r in got if not r[5]}
    assert unresolved == cms.dangling and cms.dangling
    assert all(r[6] == by_id[r[3]]["content_type"] for r in got if r[5] and r[4] == "Entry")
    assert result.rows_loaded["asset"] == len(cms.assets)
    # single links are kept on the entry as the linked id
    algolia = next(e for e in cms.entries if e["content_type"] == "algolia")
    assert (
        duck(f"select algolia_parameters from raw_contentful.entry where id = '{algolia['id']}'")[0][0]
        == algolia["fields"]["algoliaParameters"]["sys"]["id"]
    )
    # playlists reference the world's offers and venues
    offer_ids = {str(o["id"]) for o in world.offers}
    venue_ids = {str(v["id"]) for v in world.venues}
    items = duck("select item_type, item_id from raw_contentful.playlist_item")
    expected = sum(
        len(e["fields"].get("offerIds", [])) + len(e["fields"].get("venueIds", [])) + ("offerId" in e["fields"])
        for e in cms.entries
    )
    assert len(items) == expected
    assert all(i in (offer_ids if t == "offer" else venue_ids) for t, i in items)
    # tags
    assert dict(duck("select tag_id, tag_name from raw_contentful.tag")) == cms.tags
    assert duck("select count(*) from raw_contentful.entry_tag")[0][0] == sum(len(e["tags"]) for e in cms.entries)
    # paging: skip/limit until total, 5 a page
    calls = vendor("contentful").stats()["calls"]
    assert sum(path.endswith("/entries") for _, path in calls) >= len(cms.entries) // 5


def test_rerun_replaces_and_never_duplicates_even_when_the_schema_drifts(world, settings, duck, vendor):
    runner = Runner(settings)
    runner.run("contentful")
    first_seen = duck("select max(last_seen_at) from raw_contentful.entry")[0][0]
    vendor("contentful").faults(schema_drift=True)  # a new field appears in every entry
    second = runner.run("contentful")
    cms = _cms(world)
    assert second.rows_loaded["entry"] == len(cms.entries)
    n = len(cms.entries)
    assert duck("select count(*), count(distinct id) from raw_contentful.entry")[0] == (n, n)
    assert duck("select min(last_seen_at) from raw_contentful.entry")[0][0] > first_seen  # every entry seen again
    assert duck("select count(*) from raw_contentful.relationship")[0][0] == len(_links(cms))
    assert duck("select count(*) from raw_contentful.entry_tag")[0][0] == sum(len(e["tags"]) for e in cms.entries)


def test_wrong_token_fails_with_a_clear_message_that_hides_it(settings, monkeypatch):
    monkeypatch.setenv("SOURCES__CONTENTFUL__ACCESS_TOKEN", "not-the-token-s3cret")
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("contentful")
    assert "HTTP 401" in str(err.value) and "AccessTokenInvalid" in str(err.value) and "credentials" in str(err.value)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("faults", [[429, 503, "drop"], ["malformed", 500]])
def test_rate_limits_server_errors_and_cut_pages_are_recovered_without_loss(
    world, settings, duck, vendor, monkeypatch, faults
):
    monkeypatch.setenv("SOURCES__CONTENTFUL__PAGE_SIZE", "10")
    vendor("contentful").faults(fail_next=faults)
    Runner(settings).run("contentful")
    n = len(_cms(world).entries)
    assert duck("select count(*), count(distinct id) from raw_contentful.entry")[0] == (n, n)
    assert vendor("contentful").stats()["faults"] == len(faults)


def test_a_429_waits_the_reset_the_cda_asks_for(settings, vendor, monkeypatch):
    # one call a second: honouring X-Contentful-RateLimit-Reset means exactly one 429 per call after the first
    # (dlt's own back-off, 0.5 s then 1 s, would meet two)
    vendor("contentful").rate_limit(1, 1.0)
    monkeypatch.setenv("SOURCES__CONTENTFUL__CONTENT_TYPES", '["homepageNatif"]')
    started = time.monotonic()
    Runner(settings).run("contentful")
    stats = vendor("contentful").stats()
    assert stats["served"] == 3  # content types, entries, tags
    assert stats["rate_limited"] == 2
    assert time.monotonic() - started >= 2
