"""Ground truth of the regional marts, computed straight from the world.

Tests compare the marts with these figures end to end (world -> PostgreSQL and
sandboxes -> dlt -> dbt), so a bug anywhere on the way shows up as a mismatch.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sandbox.world import World


def beneficiaries_by_department(world: World, as_of: datetime | None = None) -> Counter:
    """Users holding at least one deposit, by the department they live in at `as_of`."""
    snap = world.snapshot(as_of)
    beneficiaries = {d["userId"] for d in snap["deposit"]}
    return Counter(u["departementCode"] for u in snap["user"] if u["id"] in beneficiaries)


def bookings_by_department(world: World, as_of: datetime | None = None) -> Counter:
    """Non-cancelled bookings, by the booker's department at `as_of`."""
    snap = world.snapshot(as_of)
    department = {u["id"]: u["departementCode"] for u in snap["user"]}
    return Counter(department[b["userId"]] for b in snap["booking"] if b["status"] != "CANCELLED")


def amount_spent_by_department(world: World, as_of: datetime | None = None) -> dict[str, float]:
    snap = world.snapshot(as_of)
    department = {u["id"]: u["departementCode"] for u in snap["user"]}
    spent: dict[str, float] = {}
    for b in snap["booking"]:
        if b["status"] != "CANCELLED":
            dep = department[b["userId"]]
            spent[dep] = spent.get(dep, 0.0) + b["amount"] * b["quantity"]
    return spent


def offerer_sirens(world: World, as_of: datetime | None = None) -> set[str]:
    return {o["siren"] for o in world.snapshot(as_of)["offerer"]}
