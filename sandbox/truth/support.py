"""Ground truth of the support marts (marts_support), computed straight from the world's Zendesk slice.

Definitions the marts must follow, restated here from the world's own objects:
- a ticket's topic is its custom field 'Sujet' (360026372978), 'unknown' when empty;
  its channel is `via.channel`; days are UTC dates;
- a solved or closed ticket is solved at its Zendesk metric set's `solved_at`; its first
  reply comes `reply_time_in_minutes.calendar` minutes after creation; durations are plain
  hours, and their business variants Zendesk's business minutes / 60;
- CSAT counts each ticket's rating (good or bad) on the day it was given;
- the backlog at the end of a day is the tickets created by then and not solved by then;
- a requester resolves to an app user by the email they signed up with, or by the
  user id an agent recorded; the profile (age, beneficiary) is read on the ticket's creation date.
"""

from __future__ import annotations

import statistics
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


def solved_at(world: World) -> dict[int, datetime | None]:
    """Per ticket id: when it was solved (its metric set's solved_at), None while unsolved."""
    metrics = zendesk(world).metric_sets
    return {t["id"]: metrics[t["id"]]["solved_at"] if t["status"] in SOLVED else None for t in zendesk(world).tickets}


def tickets_created(world: World) -> Counter:
    """Tickets created per (UTC date, topic, channel)."""
    return Counter((t["created_at"].date(), topic(t), channel(t)) for t in zendesk(world).tickets)


def tickets_created_by_day_and_topic(world: World) -> Counter:
    return Counter((t["created_at"].date(), topic(t)) for t in zendesk(world).tickets)


def tickets_solved(world: World) -> Counter:
    """Tickets solved per (UTC date, topic, channel)."""
    solved = solved_at(world)
    return Counter(
        (solved[t["id"]].date(), topic(t), channel(t)) for t in zendesk(world).tickets if solved[t["id"]] is not None
    )


def backlog_on(world: World, day: date) -> Counter:
    """Tickets open at the end of `day`, per (topic, channel)."""
    solved = solved_at(world)
    return Counter(
        (topic(t), channel(t))
        for t in zendesk(world).tickets
        if t["created_at"].date() <= day and (solved[t["id"]] is None or solved[t["id"]].date() > day)
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
    solved = solved_at(world)
    return [
        (solved[t["id"]] - t["created_at"]).total_seconds() / 3600
        for t in zendesk(world).tickets
        if solved[t["id"]] is not None
    ]


def ticket_durations(world: World) -> dict[int, tuple[float | None, float | None, float | None, float | None]]:
    """Per ticket id: (first reply hours, resolution hours, first reply business hours, resolution
    business hours), None where the ticket has no reply or no solve yet. Calendar hours are the
    times between creation and the first reply or the solve; business hours are Zendesk's
    business minutes / 60."""
    solved, metrics = solved_at(world), zendesk(world).metric_sets
    durations = {}
    for t in zendesk(world).tickets:
        m, at = metrics[t["id"]], solved[t["id"]]
        reply = m["reply_time_in_minutes"]
        durations[t["id"]] = (
            None if reply["calendar"] is None else reply["calendar"] / 60,
            None if at is None else (at - t["created_at"]).total_seconds() / 3600,
            None if reply["business"] is None else reply["business"] / 60,
            None if at is None else m["full_resolution_time_in_minutes"]["business"] / 60,
        )
    return durations


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


def median_resolution_hours_by_solve_day(world: World) -> dict[tuple[date, str, str], float]:
    """Median plain resolution hours of the tickets solved each (UTC date, topic, channel)."""
    solved = solved_at(world)
    hours: dict[tuple[date, str, str], list[float]] = {}
    for t in zendesk(world).tickets:
        if (at := solved[t["id"]]) is not None:
            hours.setdefault((at.date(), topic(t), channel(t)), []).append(
                (at - t["created_at"]).total_seconds() / 3600
            )
    return {key: statistics.median(values) for key, values in hours.items()}
