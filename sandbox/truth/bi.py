"""Ground truth of the BI-usage marts (marts_bi), computed straight from the world's Metabase slice.

What the marts must show, from the application database as it stands at the
world's end (`MetabaseSlice.as_of`), the permission graph and the memberships:
- card executions, distinct users and failures per (card, UTC month);
- stale content: cards and dashboards not archived, created more than 90 days
  before the latest execution and not run since (a dashboard runs when a card
  runs from it);
- which group can read or curate which collection, and each group's members.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from sandbox.vendors.metabase.world import MetabaseSlice, build
from sandbox.world import World

STALE_AFTER = timedelta(days=90)


def metabase(world: World) -> MetabaseSlice:
    return world.slice("metabase", build)


def _executions(world: World) -> list[dict]:
    return metabase(world).as_of()["query_execution"]


def _month(t: datetime) -> date:
    return date(t.year, t.month, 1)


def card_executions(world: World) -> Counter:
    """Executions per (card id, month)."""
    return Counter((e["card_id"], _month(e["started_at"])) for e in _executions(world) if e["card_id"] is not None)


def card_distinct_users(world: World) -> dict[tuple[int, date], int]:
    users: dict[tuple[int, date], set[int]] = defaultdict(set)
    for e in _executions(world):
        if e["card_id"] is not None:
            users[(e["card_id"], _month(e["started_at"]))].add(e["executor_id"])
    return {k: len(v) for k, v in users.items()}


def card_failures(world: World) -> Counter:
    """Failed executions per (card id, month)."""
    return Counter(
        (e["card_id"], _month(e["started_at"]))
        for e in _executions(world)
        if e["card_id"] is not None and e["error"] is not None
    )


def card_last_runs(world: World) -> dict[int, datetime]:
    """Last execution of each card that ever ran."""
    last: dict[int, datetime] = {}
    for e in _executions(world):
        if e["card_id"] is not None:
            last[e["card_id"]] = max(e["started_at"], last.get(e["card_id"], e["started_at"]))
    return last


def stale_content(world: World) -> set[tuple[str, int]]:
    """(content type, id) of the cards and dashboards nobody ran for 90 days."""
    db = metabase(world).as_of()
    executions = db["query_execution"]
    cutoff = max(e["started_at"] for e in executions) - STALE_AFTER
    last_card_run: dict[int, datetime] = {}
    last_dashboard_run: dict[int, datetime] = {}
    for e in executions:
        if e["card_id"] is not None:
            last_card_run[e["card_id"]] = max(e["started_at"], last_card_run.get(e["card_id"], e["started_at"]))
        if e["dashboard_id"] is not None:
            d = e["dashboard_id"]
            last_dashboard_run[d] = max(e["started_at"], last_dashboard_run.get(d, e["started_at"]))
    stale = set()
    for kind, rows, last_run in (
        ("card", db["report_card"], last_card_run),
        ("dashboard", db["report_dashboard"], last_dashboard_run),
    ):
        for r in rows:
            run = last_run.get(r["id"])
            if not r["archived"] and r["created_at"] < cutoff and (run is None or run < cutoff):
                stale.add((kind, r["id"]))
    return stale


def collection_permissions(world: World) -> dict[tuple[int, str], str]:
    """(group id, collection id or 'root') -> 'read' | 'write', for what a group can see."""
    return {
        (gid, cid): perm
        for gid, perms in metabase(world).collection_graph.items()
        for cid, perm in perms.items()
        if perm in ("read", "write")
    }


def group_members(world: World) -> Counter:
    """Users per permission group."""
    return Counter(m["group_id"] for m in metabase(world).memberships)


def personal_names(world: World) -> set[str]:
    """First and last names of the Metabase users, as their personal collections are named."""
    return {f"{u['first_name']} {u['last_name']}" for u in metabase(world).users}
