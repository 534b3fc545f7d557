"""Metabase slice of the world: the analysts' Metabase, its content and its usage.

A few analysts (users with French names and @passculture.app emails), the
permission groups they belong to, collections (national, regional per region,
marketing, an archived one, one personal collection per user), the warehouse
database, cards that query the regional marts, dashboards laid out with those
cards, and query executions over time (dashboards views, ad-hoc questions,
a few errors, cache hits). Everything has a creation time, and cards and
dashboards get edited or archived later, so `as_of(t)` gives the application
database as it stood at `t` (what `app_database.write_metabase_db` writes).

Size at scale 1.0: about 15 users, 70 cards, 14 dashboards, 4,000 query executions.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sandbox.world import catalog
from sandbox.world.generator import WORLD_END, WORLD_START, World
from sandbox.world.table import Table

CARD_PERIODS = ("mensuel", "par département", "cumul")

BOT_EMAIL = "metabase-data-bot@passculture.app"
REGIONS = (
    "Auvergne-Rhône-Alpes",
    "Bretagne",
    "Grand Est",
    "Hauts-de-France",
    "Île-de-France",
    "Nouvelle-Aquitaine",
    "Occitanie",
    "Provence-Alpes-Côte d'Azur",
)
MART = "marts_regional.mrt_regional__beneficiaries_monthly"
MEASURES = (
    ("new_beneficiaries", "Nouveaux bénéficiaires"),
    ("active_beneficiaries", "Bénéficiaires actifs"),
    ("bookings", "Réservations"),
    ("amount_spent", "Montant dépensé"),
    ("share_of_credit_spent", "Part du crédit dépensée"),
)
GROUPS = ((1, "All Users"), (2, "Administrators"), (3, "Data analysts"), (4, "Partenaires régionaux"), (5, "Marketing"))
DATABASES = (
    {"id": 1, "name": "pass Culture warehouse", "engine": "bigquery-cloud-sdk", "is_sample": False},
    {"id": 2, "name": "Sample Database", "engine": "h2", "is_sample": True},
)


@dataclass
class MetabaseSlice:
    users: list[dict]
    collections: list[dict]
    cards: list[dict]
    dashboards: list[dict]
    dashboard_cards: list[dict]
    executions: Sequence[dict]  # a Table: columns, dicts on read
    groups: list[dict]  # {id, name}
    memberships: list[dict]  # {membership_id, user_id, group_id, is_group_manager}
    collection_graph: dict[int, dict[str, str]]  # group id -> {collection id | 'root': read|write|none}
    databases: list[dict]

    def as_of(self, t: datetime | None = None) -> dict[str, list[dict]]:
        """The application database's tables as they stood at `t` (default: the world's end)."""
        t = t or WORLD_END

        def versioned(rows: list[dict]) -> list[dict]:
            out = []
            for r in rows:
                if r["created_at"] > t:
                    continue
                row = {k: v for k, v in r.items() if not k.startswith("_")}
                row["updated_at"] = max([r["created_at"], *(u for u in r.get("_edits", ()) if u <= t)])
                if "archived" in row:
                    row["archived"] = r.get("_archived_at") is not None and r["_archived_at"] <= t
                out.append(row)
            return out

        users = []
        for u in self.users:
            if u["date_joined"] > t:
                continue
            row = {k: v for k, v in u.items() if not k.startswith("_")}
            logins = [x for x in u["_logins"] if x <= t]
            row["last_login"] = logins[-1] if logins else None
            row["updated_at"] = row["last_login"] or u["date_joined"]
            users.append(row)
        return {
            "core_user": users,
            "collection": [
                {k: v for k, v in c.items() if not k.startswith("_")} for c in self.collections if c["created_at"] <= t
            ],
            "report_card": versioned(self.cards),
            "report_dashboard": versioned(self.dashboards),
            "report_dashboardcard": versioned(self.dashboard_cards),
            "query_execution": [e for e in self.executions if e["started_at"] < t],
        }


def _between(rng: random.Random, a: datetime, b: datetime) -> datetime:
    if b <= a:
        return a
    return a + timedelta(seconds=rng.randint(0, int((b - a).total_seconds())))


def _slug(name: str) -> str:
    table = str.maketrans("éèêëàâîïôûùçÉÈÎ'", "eeeeaaiiouuceei_")
    return "_".join(name.translate(table).lower().replace("-", " ").split())


def build(world: World, rng: random.Random) -> MetabaseSlice:
    start = max(WORLD_START, datetime(2023, 3, 1))
    # --- users: the data bot (superuser, the REST API's account) and a few analysts
    n_users = max(4, round(14 * world.scale))
    users = []
    for uid in range(1, n_users + 2):
        if uid == 1:
            first, last, email = "Data", "Bot", BOT_EMAIL
        else:
            first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
            email = f"{_slug(first)}.{_slug(last)}{uid}@passculture.app".replace("_", "-")
        joined = start if uid == 1 else _between(rng, start, WORLD_END - timedelta(days=90))
        logins = sorted(_between(rng, joined, WORLD_END - timedelta(minutes=5)) for _ in range(rng.randint(3, 40)))
        users.append(
            {
                "id": uid,
                "email": email,
                "first_name": first,
                "last_name": last,
                "password": "$2a$10$" + hashlib.sha256(f"{email}:{rng.random()}".encode()).hexdigest()[:53],
                "password_salt": hashlib.md5(email.encode()).hexdigest(),
                "date_joined": joined,
                "is_superuser": uid <= 2,
                "is_active": rng.random() > 0.1 or uid <= 2,
                "locale": "fr",
                "sso_source": None if uid == 1 else "google",
                "type": "personal",
                "_logins": logins,
            }
        )
    analysts = [u for u in users if u["id"] != 1]

    # --- collections
    collections = []

    def collection(
        name: str, parent: dict | None, created: datetime, *, owner: int | None = None, archived: bool = False
    ) -> dict:
        cid = len(collections) + 1
        c = {
            "id": cid,
            "name": name,
            "description": None if owner else f"Collection {name}",
            "archived": archived,
            "slug": _slug(name),
            "personal_owner_id": owner,
            "location": "/" if parent is None else f"{parent['location']}{parent['id']}/",
            "namespace": None,
            "authority_level": "official" if parent is None and not owner and not archived else None,
            "created_at": created,
            "type": None,
            "entity_id": hashlib.sha1(f"collection{cid}{world.seed}".encode()).hexdigest()[:21],
        }
        collections.append(c)
        return c

    national = collection("Pilotage national", None, start)
    regional = collection("Reporting régional", None, start + timedelta(days=3))
    region_collections = [
        collection(r, regional, _between(rng, start, start + timedelta(days=200)))
        for r in rng.sample(REGIONS, max(3, min(len(REGIONS), round(8 * world.scale))))
    ]
    marketing = collection("Marketing", None, start + timedelta(days=30))
    archive = collection("Archives 2023", None, start + timedelta(days=10), archived=True)
    for u in users:
        collection(f"{u['first_name']} {u['last_name']}'s Personal Collection", None, u["date_joined"], owner=u["id"])
    shared = [national, regional, *region_collections, marketing, archive]

    # --- cards on the regional mart
    cards = []
    n_cards = max(12, round(70 * world.scale))
    for cid in range(1, n_cards + 1):
        measure, label = rng.choice(MEASURES)
        home = rng.choice(shared)
        region = home["name"] if home in region_collections else None
        native = rng.random() < 0.6
        if native:
            where = f" where region_name = '{region}'" if region else ""
            query = {
                "database": 1,
                "type": "native",
                "native": {
                    "query": f"select month, department_code, sum({measure}) as {measure} from {MART}{where} "
                    f"group by 1, 2 order by 1",
                    "template-tags": {},
                },
            }
        else:
            query = {
                "database": 1,
                "type": "query",
                "query": {
                    "source-table": 101,
                    "aggregation": [["sum", ["field", measure, {"base-type": "type/Float"}]]],
                    "breakout": [["field", "month", {"temporal-unit": "month"}]],
                    **({"filter": ["=", ["field", "region_name", None], region]} if region else {}),
                },
            }
        created = _between(rng, max(start, home["created_at"]), WORLD_END - timedelta(days=20))
        edits = sorted(
            _between(rng, created, WORLD_END - timedelta(hours=1)) for _ in range(rng.choice((0, 0, 1, 2, 3)))
        )
        archived_at = (
            _between(rng, created, WORLD_END - timedelta(hours=1)) if home is archive or rng.random() < 0.08 else None
        )
        if archived_at:
            edits = sorted([*edits, archived_at])
        cards.append(
            {
                "id": cid,
                "name": f"{label}{' - ' + region if region else ''} ({rng.choice(CARD_PERIODS)})",
                "description": rng.choice((None, f"{label} par mois, source {MART}")),
                "display": rng.choice(("line", "bar", "table", "map", "scalar")),
                "dataset_query": json.dumps(query, ensure_ascii=False),
                "visualization_settings": "{}",
                "creator_id": rng.choice(analysts)["id"],
                "database_id": 1,
                "table_id": None if native else 101,
                "query_type": "native" if native else "query",
                "archived": False,
                "collection_id": home["id"],
                "type": "question",
                "cache_ttl": None,
                "enable_embedding": False,
                "public_uuid": None,
                "entity_id": hashlib.sha1(f"card{cid}{world.seed}".encode()).hexdigest()[:21],
                "created_at": created,
                "_edits": edits,
                "_archived_at": archived_at,
            }
        )

    # --- dashboards and their cards
    dashboards, dashboard_cards = [], []
    n_dash = max(3, round(14 * world.scale))
    for did in range(1, n_dash + 1):
        home = rng.choice([national, *region_collections, marketing])
        created = _between(rng, max(start, home["created_at"]), WORLD_END - timedelta(days=15))
        edits = sorted(_between(rng, created, WORLD_END - timedelta(hours=1)) for _ in range(rng.choice((0, 1, 2))))
        archived_at = _between(rng, created, WORLD_END - timedelta(hours=1)) if rng.random() < 0.07 else None
        if archived_at:
            edits = sorted([*edits, archived_at])
        dashboards.append(
            {
                "id": did,
                "name": f"Tableau de bord {home['name']}" + (f" #{did}" if did > 1 else ""),
                "description": f"Suivi {home['name'].lower()}",
                "creator_id": rng.choice(analysts)["id"],
                "parameters": json.dumps([{"id": "a1b2", "name": "Région", "slug": "region", "type": "string/="}]),
                "archived": False,
                "collection_id": home["id"],
                "position": None,
                "show_in_getting_started": False,
                "caveats": None,
                "points_of_interest": None,
                "public_uuid": None,
                "enable_embedding": False,
                "cache_ttl": None,
                "width": "fixed",
                "entity_id": hashlib.sha1(f"dashboard{did}{world.seed}".encode()).hexdigest()[:21],
                "created_at": created,
                "_edits": edits,
                "_archived_at": archived_at,
            }
        )
        live = [c for c in cards if c["created_at"] <= created + timedelta(days=30)] or cards[:3]
        for pos, card in enumerate(rng.sample(live, min(len(live), rng.randint(3, 8)))):
            placed = max(created, card["created_at"])
            dashboard_cards.append(
                {
                    "id": len(dashboard_cards) + 1,
                    "dashboard_id": did,
                    "card_id": card["id"],
                    "row": (pos // 2) * 6,
                    "col": (pos % 2) * 12,
                    "size_x": 12,
                    "size_y": 6,
                    "parameter_mappings": json.dumps(
                        [
                            {
                                "parameter_id": "a1b2",
                                "card_id": card["id"],
                                "target": ["dimension", ["field", "region_name", None]],
                            }
                        ]
                    ),
                    "visualization_settings": "{}",
                    "dashboard_tab_id": None,
                    "entity_id": hashlib.sha1(f"dashcard{did}-{pos}{world.seed}".encode()).hexdigest()[:21],
                    "created_at": placed,
                    "_edits": [],
                    "_archived_at": None,
                }
            )
    cards_of = {}
    for dc in dashboard_cards:
        cards_of.setdefault(dc["dashboard_id"], []).append(dc)

    # --- query executions over time
    executions = []
    n_exec = max(200, round(4000 * world.scale))
    by_id = {c["id"]: c for c in cards}
    for _ in range(n_exec):
        if rng.random() < 0.65:
            dash = rng.choice(dashboards)
            dc = rng.choice(cards_of[dash["id"]])
            card = by_id[dc["card_id"]]
            at = _between(rng, dc["created_at"], WORLD_END - timedelta(minutes=1))
            context, dashboard_id = "dashboard", dash["id"]
        else:
            card = rng.choice(cards)
            at = _between(rng, card["created_at"], WORLD_END - timedelta(minutes=1))
            context, dashboard_id = rng.choice(("question", "question", "ad-hoc", "pulse")), None
        failed = rng.random() < 0.03
        cache_hit = not failed and rng.random() < 0.25
        executions.append(
            {
                "hash": hashlib.sha256(card["dataset_query"].encode()).digest(),
                "started_at": at.replace(microsecond=rng.randrange(0, 1_000_000, 1000)),
                "running_time": rng.randint(5, 60) if cache_hit else int(rng.lognormvariate(7, 1)),
                "result_rows": 0 if failed else rng.randint(1, 2500),
                "native": card["query_type"] == "native",
                "context": context,
                "error": "Query timed out after 300 seconds" if failed else None,
                "executor_id": rng.choice(users)["id"],
                "card_id": card["id"],
                "dashboard_id": dashboard_id,
                "pulse_id": None,
                "database_id": 1,
                "cache_hit": cache_hit,
            }
        )
    executions.sort(key=lambda e: e["started_at"])
    for i, e in enumerate(executions, start=1):
        e["id"] = i

    # --- governance, served by the REST API only
    groups = [{"id": gid, "name": name} for gid, name in GROUPS]
    memberships = []

    def member(user: dict, group_id: int, manager: bool = False) -> None:
        memberships.append(
            {
                "membership_id": len(memberships) + 1,
                "user_id": user["id"],
                "group_id": group_id,
                "is_group_manager": manager,
            }
        )

    for u in users:
        member(u, 1)
        if u["is_superuser"]:
            member(u, 2)
        elif rng.random() < 0.5:
            member(u, 3, manager=rng.random() < 0.2)
        else:
            member(u, rng.choice((4, 5)))
    graph: dict[int, dict[str, str]] = {}
    non_personal = [c for c in collections if c["personal_owner_id"] is None]
    for gid, _ in GROUPS:
        perms = {"root": "write" if gid == 2 else "read" if gid == 3 else "none"}
        for c in non_personal:
            if gid in (2, 3):
                perms[str(c["id"])] = "write"
            elif gid == 4:
                perms[str(c["id"])] = "read" if c in region_collections or c is regional else "none"
            elif gid == 5:
                perms[str(c["id"])] = "write" if c is marketing else "read" if c is national else "none"
            else:
                perms[str(c["id"])] = "read" if c is national else "none"
        graph[gid] = perms
    databases = [{**d, "created_at": start, "updated_at": start + timedelta(days=1)} for d in DATABASES]
    return MetabaseSlice(
        users,
        collections,
        cards,
        dashboards,
        dashboard_cards,
        Table.from_rows(executions),
        groups,
        memberships,
        graph,
        databases,
    )
