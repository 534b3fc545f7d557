"""The world generator: seeded, consistent, and carrying the signals later steps rely on."""

from datetime import datetime
from itertools import pairwise

from sandbox.vendors.qualtrics.world import build as qualtrics_slice
from sandbox.world import build_world, catalog
from sandbox.world.geography import communes, postcode_to_department
from sandbox.world.identifiers import luhn_valid


def test_same_seed_same_world_other_seed_other_world(world):
    again = build_world(7, 0.2)
    assert again.snapshot()["booking"] == world.snapshot()["booking"]
    assert build_world(8, 0.2).snapshot()["booking"] != world.snapshot()["booking"]


def test_scale_grows_the_world_without_changing_its_shape():
    small, large = build_world(3, 0.1), build_world(3, 0.4)
    assert len(large.users) == 4 * len(small.users)
    ratio = lambda w: len(w.bookings) / len(w.users)  # noqa: E731
    assert abs(ratio(large) - ratio(small)) / ratio(small) < 0.25


def test_identifiers_are_valid_and_unique(world):
    sirens = [o["siren"] for o in world.offerers]
    sirets = [v["siret"] for v in world.venues if v["siret"]]
    assert all(len(s) == 9 and luhn_valid(s) for s in sirens) and len(set(sirens)) == len(sirens)
    assert all(len(s) == 14 and luhn_valid(s) for s in sirets) and len(set(sirets)) == len(sirets)
    assert {s[:9] for s in sirets} <= set(sirens)


def test_communes_postcodes_map_to_their_department():
    # the dbt macro implements the same rule: geocoding fallbacks land in the right department
    for c in communes():
        assert postcode_to_department(c.postcode) == c.department_code, c
    assert [postcode_to_department(p) for p in ("20000", "20200", "97150", "97133", "98800", "75001", "abc", None)] == [
        "2A",
        "2B",
        "978",
        "977",
        "988",
        "75",
        "-1",
        "-1",
    ]


def test_bookings_never_exceed_the_credit(world):
    spent: dict[int, float] = {}
    for b in world.bookings:
        if b["_cancelled_at"] is None:
            spent[b["depositId"]] = spent.get(b["depositId"], 0) + b["amount"] * b["quantity"]
    amounts = {d["id"]: d["amount"] for d in world.deposits}
    assert all(total <= amounts[dep] + 1e-9 for dep, total in spent.items())


def test_snapshots_only_grow_and_updates_are_stamped(world):
    t1, t2 = world.snapshot(datetime(2025, 6, 1)), world.snapshot()
    for table in t1:
        ids1, ids2 = {r["id"] for r in t1[table]}, {r["id"] for r in t2[table]}
        assert ids1 <= ids2
    before = {r["id"]: r for r in t1["booking"]}
    for r in t2["booking"]:
        if r["id"] in before and r["status"] != before[r["id"]]["status"]:
            assert r["dateUpdated"] > datetime(2025, 6, 1)


def test_manual_review_outcome_carries_a_learnable_signal():
    w = build_world(5, 0.5)
    reviewed = [o for o in w.offers if o["_validation_type"] == "MANUAL"]
    flagged = [o for o in reviewed if any(p in o["description"].lower() for p in catalog.SUSPICIOUS_PHRASES)]
    clean = [o for o in reviewed if o not in flagged]
    rate = lambda offers: sum(o["_final_validation"] == "REJECTED" for o in offers) / len(offers)  # noqa: E731
    assert flagged and rate(flagged) > 3 * rate(clean)


def test_events_read_as_dicts_in_time_order_numbered_from_one(world):
    events = list(world.events)
    assert len(events) == len(world.events) > 1000
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(a["eventTimestamp"] <= b["eventTimestamp"] for a, b in pairwise(events))
    assert world.events[0] == events[0] and world.events[-1] == events[-1] and world.events[10:13] == events[10:13]
    offers = {o["id"] for o in world.offers}
    assert {e["offerId"] for e in events} <= offers and {e["userId"] for e in events} <= {u.id for u in world.users}
    # a booking confirmation at the booking's own instant, for every booking
    confirmed = {
        (e["userId"], e["offerId"], e["eventTimestamp"]) for e in events if e["eventName"] == "BookingConfirmation"
    }
    assert {(b["userId"], b["offerId"], b["dateCreated"]) for b in world.bookings} <= confirmed


def test_no_survey_answer_after_the_worlds_end():
    # seed 11, scale 1 has a venue opened in the world's last weeks: its first possible answer was past the end
    world = build_world(11, 1.0)
    responses = world.slice("qualtrics", qualtrics_slice).responses
    assert sum(map(len, responses.values())) > 500
    assert max(r["StartDate"] for rows in responses.values() for r in rows) < world.end
