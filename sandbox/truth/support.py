"""Ground truth of the support marts (marts_support), computed straight from the world's Zendesk slice.

Definitions the marts must follow, restated here from the world's own objects:
- a ticket's topic is its custom field 'Sujet' (360026372978), 'unknown' when empty;
  its channel is `via.channel`; days are UTC dates;
- a solved or closed ticket counts as solved at its last update (`updated_at`);
- CSAT counts each ticket's rating (good or bad) on the day it was given;
- the backlog at the end of a day is the tickets created by then and not solved by then;
- a requester resolves to an app user by the email they signed up with, or by the
  user id an agent recorded; the profile (age, beneficiary) is read on the ticket's creation date.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from sandbox.vendors.zendesk.world import ZendeskSlice, build
from sandbox.world import World

TOPIC_FIELD = 360026372978
SOLVED = ("solved", "closed")


def zendesk(world: World) -> ZendeskSlice:
    return world.slice("zendesk", build)


def topic(ticket: dict) -> str:
    value = next((f["value"] for f in ticket["custom_fields"] if f["id"] == TOPIC_FIELD), None)
    return value or "unknown"


def channel(ticket: dict) -> str:
    return ticket["via"]["channel"] or "unknown"


def solved_at(ticket: dict) -> datetime | None:
    return ticket["updated_at"] if ticket["status"] in SOLVED else None


def tickets_created(world: World) -> Counter:
    """Tickets created per (UTC date, topic, channel)."""
    return Counter((t["created_at"].date(), topic(t), channel(t)) for t in zendesk(world).tickets)


def tickets_created_by_day_and_topic(world: World) -> Counter:
    return Counter((t["created_at"].date(), topic(t)) for t in zendesk(world).tickets)


def tickets_solved(world: World) -> Counter:
    """Tickets solved per (UTC date, topic, channel)."""
    return Counter(
        (solved_at(t).date(), topic(t), channel(t)) for t in zendesk(world).tickets if solved_at(t) is not None
    )


def backlog_on(world: World, day: date) -> Counter:
    """Tickets open at the end of `day`, per (topic, channel)."""
    return Counter(
        (topic(t), channel(t))
        for t in zendesk(world).tickets
        if t["created_at"].date() <= day and (solved_at(t) is None or solved_at(t).date() > day)
    )


def latest_ratings(world: World) -> dict[int, dict]:
    """Each rated ticket's latest good or bad rating, by ticket id."""
    latest: dict[int, dict] = {}
    for r in sorted(zendesk(world).satisfaction_ratings, key=lambda r: (r["created_at"], r["id"])):
        if r["score"] in ("good", "bad"):
            latest[r["ticket_id"]] = r
    return latest


def ratings(world: World) -> Counter:
    """Ratings per (UTC rating date, topic, channel, score)."""
    by_id = {t["id"]: t for t in zendesk(world).tickets}
    return Counter(
        (r["created_at"].date(), topic(by_id[tid]), channel(by_id[tid]), r["score"])
        for tid, r in latest_ratings(world).items()
    )


def csat_by_topic(world: World) -> dict[str, float]:
    """Share of good ratings among rated tickets, per topic (all days)."""
    good, rated = Counter(), Counter()
    for (_day, top, _chan, score), n in ratings(world).items():
        rated[top] += n
        good[top] += n if score == "good" else 0
    return {top: good[top] / rated[top] for top in rated}


def resolution_hours(world: World) -> list[float]:
    """Plain hours from creation to solve of every solved ticket."""
    return [
        (solved_at(t) - t["created_at"]).total_seconds() / 3600
        for t in zendesk(world).tickets
        if solved_at(t) is not None
    ]


def _age_band(age: int) -> str:
    if age < 15:
        return "under 15"
    if age <= 17:
        return "15-17"
    if age == 18:
        return "18"
    if age <= 20:
        return "19-20"
    return "21 and over"


def requester_profiles(world: World) -> dict[int, tuple[bool, bool, str, str]]:
    """Per ticket id: (resolved to an app user, beneficiary when the ticket was created, age band,
    current department, '-1' when unresolved)."""
    z = zendesk(world)
    users = {u.id: u for u in world.users}
    requesters = {u["id"]: u for u in z.users}
    snap = world.snapshot()
    department = {u["id"]: u["departementCode"] for u in snap["user"]}
    first_deposit: dict[int, datetime] = {}
    for d in snap["deposit"]:
        first_deposit[d["userId"]] = min(d["dateCreated"], first_deposit.get(d["userId"], d["dateCreated"]))
    profiles = {}
    for t in z.tickets:
        req = requesters[t["requester_id"]]
        app_user = users.get(req["_app_user_id"]) if req["_app_user_id"] is not None else None
        recorded = (req["user_fields"] or {}).get("user_id")
        resolved = app_user is not None and (req["email"] == app_user.email or recorded == str(app_user.id))
        if not resolved:
            profiles[t["id"]] = (False, False, "unknown", "-1")
            continue
        deposit = first_deposit.get(app_user.id)
        profiles[t["id"]] = (
            True,
            deposit is not None and deposit <= t["created_at"],
            _age_band(app_user.age_on(t["created_at"].date())),
            department[app_user.id],
        )
    return profiles
