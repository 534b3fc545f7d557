"""The Zendesk slice of the world: the support desk's users, tickets, macros and CSAT.

Requesters are real world users (young people writing from the email they
signed up with, a few from another address), venue staff (partners) and a few
strangers. An agent records the pass Culture user id in the user field
`user_id` for part of the young requesters, as the support team does.
Ticket custom fields follow the production account's ids (SOURCES.md §14).
Each ticket has its Zendesk metric set (the `metric_sets` sideload of the ticket
export): first reply and solve times in whole minutes after creation, drawn from
a generator of their own per ticket so that no other draw of the slice moves.

Use through `world.slice("zendesk", build)`.
"""

from __future__ import annotations

import calendar
import random
import re
import unicodedata
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from sandbox.world.generator import WORLD_START, World, _between
from sandbox.world.table import _EPOCH, _MICRO, Table, TableBuilder

TICKETS_PER_USER = 0.3
USER_ID_BASE = 360_000_000_000
TICKET_ID_BASE = 100_000

# (id, title, type, options): the custom ticket fields of the account
TICKET_FIELDS = [
    (
        360026372978,
        "Sujet",
        "tagger",
        ["sujet_reservation", "sujet_credit", "sujet_compte", "sujet_offre", "sujet_remboursement"],
    ),
    (
        1900005591693,
        "Problème",
        "tagger",
        ["probleme_technique", "probleme_identite", "probleme_paiement", "probleme_autre"],
    ),
    (
        4490222594460,
        "Typologie support native",
        "multiselect",
        ["native_inscription", "native_reservation", "native_credit", "native_bug", "native_fraude"],
    ),
    (
        4490267156124,
        "Typologie support pro",
        "multiselect",
        ["pro_remboursement", "pro_offre", "pro_compte", "pro_adage"],
    ),
    (13689298822684, "Typologie fraude native", "multiselect", ["fraude_identite", "fraude_reservation"]),
    (
        11756102293788,
        "Partenaire technique",
        "tagger",
        ["partenaire_allocine", "partenaire_cine_office", "partenaire_titelive", "aucun"],
    ),
    (360029161637, "SIREN/SIRET", "text", None),
    (360029405277, "Niveau", "tagger", ["niveau_1", "niveau_2", "niveau_3"]),
]
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
CHANNELS = ("web", "email", "api", "native_messaging")


@dataclass
class ZendeskSlice:
    # Tables (columns, dicts on read) in the order of the incremental exports that serve them: last
    # update to the second, then id
    users: Sequence[dict]  # Zendesk users (agents and end users), the world link in '_app_user_id'
    tickets: Sequence[dict]
    ticket_fields: list[dict]
    macros: list[dict]
    satisfaction_ratings: Table  # by id
    groups: list[int]
    brands: list[int]
    metric_sets: Mapping[int, dict] = field(default_factory=dict)  # by ticket id


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


# business hours of the support desk for the metrics' business-minute values: weekdays 09:00-18:00 UTC
BUSINESS_HOURS = (9, 18)
METRIC_ID_BASE = 24_000_000_000


def business_minutes(start: datetime, end: datetime) -> int:
    """Whole minutes of [start, end] inside the business hours (weekdays, 09:00-18:00 UTC)."""
    seconds = 0.0
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        if day.weekday() < 5:
            open_, close = day.replace(hour=BUSINESS_HOURS[0]), day.replace(hour=BUSINESS_HOURS[1])
            seconds += max(0.0, (min(end, close) - max(start, open_)).total_seconds())
        day += timedelta(days=1)
    return int(seconds // 60)


def metric_set(seed: int, ticket: dict, updated: datetime) -> dict:
    """The ticket's metric set as Zendesk computes it, consistent with the ticket: the first reply
    follows creation and precedes the solve and the last update (`updated`, before any CSAT rating);
    only solved and closed tickets have a solve. Times are whole minutes after creation (Zendesk
    counts minutes), the business values count the minutes within BUSINESS_HOURS."""
    rng = random.Random(f"{seed}-zendesk-metrics-{ticket['id']}")
    created, status = ticket["created_at"], ticket["status"]
    span = int((updated - created).total_seconds() // 60)  # minutes up to the last (pre-rating) update
    solve = rng.randint(span // 2, span) if status in ("solved", "closed") else None
    replied = status != "new" and (status != "open" or rng.random() < 0.7)
    reply = min(solve if solve is not None else span, max(1, round(rng.expovariate(1 / 480)))) if replied else None
    reply_at = None if reply is None else created + timedelta(minutes=reply)
    solved_at = None if solve is None else created + timedelta(minutes=solve)
    assigned = ticket["assignee_id"] is not None
    assigned_at = (reply_at or created) if assigned else None

    def minutes(n: int | None, at: datetime | None) -> dict:
        return {"calendar": n, "business": None if at is None else business_minutes(created, at)}

    return {
        "id": METRIC_ID_BASE + ticket["id"],
        "ticket_id": ticket["id"],
        "created_at": created,
        "updated_at": max(t for t in (created, reply_at, solved_at) if t is not None),
        "solved_at": solved_at,
        "initially_assigned_at": assigned_at,
        "assigned_at": assigned_at,
        "latest_comment_added_at": solved_at or reply_at or created,
        "replies": 0 if reply is None else 1 + (rng.random() < 0.4),
        "reopens": 0,
        "reply_time_in_minutes": minutes(reply, reply_at),
        "first_resolution_time_in_minutes": minutes(solve, solved_at),
        "full_resolution_time_in_minutes": minutes(solve, solved_at),
    }


class MetricSets(Mapping[int, dict]):
    """The tickets' metric sets by ticket id, each made when read: `metric_set` depends only on the seed,
    the ticket and its last update before any rating, so nothing but those updates is kept."""

    def __init__(self, seed: int, tickets: Table, updated: list[datetime]) -> None:
        self._seed, self._tickets = seed, tickets
        ids = tickets.numbers("id")
        self._by_id = np.argsort(ids, kind="stable")  # rows in id order: found by a binary search, no dict
        self._ids = ids[self._by_id]
        self._updated = np.array([(u - _EPOCH) // _MICRO for u in updated], dtype=np.int64)

    def _row(self, ticket_id: int) -> int:
        at = int(np.searchsorted(self._ids, ticket_id))
        if at == len(self._ids) or self._ids[at] != ticket_id:
            raise KeyError(ticket_id)
        return int(self._by_id[at])

    def __getitem__(self, ticket_id: int) -> dict:
        i = self._row(ticket_id)
        return metric_set(self._seed, self._tickets[i], _EPOCH + int(self._updated[i]) * _MICRO)

    def __iter__(self) -> Iterator[int]:  # in the tickets' order, as the dict it replaces
        return iter(self._tickets.column("id"))

    def __len__(self) -> int:
        return len(self._ids)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def build(world: World, rng: random.Random) -> ZendeskSlice:
    end = world.end
    groups = [360001234501, 360001234502, 360001234503]  # support jeunes, support pro, fraude
    brands = [360000111111]
    fields = [
        {
            "id": fid,
            "title": title,
            "type": ftype,
            "active": True,
            "removable": True,
            "custom_field_options": [{"name": o, "value": o} for o in (options or [])],
            "created_at": _iso(WORLD_START - timedelta(days=400)),
            "updated_at": _iso(WORLD_START - timedelta(days=30)),
        }
        for fid, title, ftype, options in TICKET_FIELDS
    ]
    # users as rows of a table, but for what later tickets change (a requester's creation and last update,
    # a partner's venue), held by user number n (id USER_ID_BASE + 1 + n) in arrays and set at the end,
    # rather than a dict per user held through the build (264,000 users at scale 200)
    users = TableBuilder()
    created_at, updated_at, venue_of = array("q"), array("q"), array("q")  # microseconds; venue 0: none
    emails: list[str] = []
    names: list[str] = []

    def add_user(
        email: str,
        name: str,
        role: str,
        created: datetime,
        app_user_id: int | None,
        recorded_user_id: int | None,
        kind: str,
    ) -> int:
        updated = (
            created
            if recorded_user_id is None
            else _between(rng, created, min(end - timedelta(minutes=5), created + timedelta(days=30)))
        )
        n = len(users)
        users.append(
            {
                "id": USER_ID_BASE + 1 + n,
                "email": email,
                "name": name,
                "phone": f"+336{rng.randint(10_000_000, 99_999_999)}",
                "role": role,
                "active": True,
                "verified": rng.random() < 0.8,
                "suspended": False,
                "locale": "fr",
                "time_zone": "Europe/Paris",
                "created_at": created,
                "updated_at": updated,
                "tags": [],
                "organization_id": None,
                "user_fields": {"user_id": str(recorded_user_id) if recorded_user_id else None},
                "_app_user_id": app_user_id,
                "_kind": kind,
                "_venue_id": None,  # a partner's venue
            }
        )
        created_at.append((created - _EPOCH) // _MICRO)
        updated_at.append((updated - _EPOCH) // _MICRO)
        venue_of.append(0)
        emails.append(email)
        names.append(name)
        return n

    agents = [
        add_user(
            f"agent{i}@passculture.app",
            f"Agent {i}",
            "agent" if i > 1 else "admin",
            WORLD_START - timedelta(days=rng.randint(30, 300)),
            None,
            None,
            "agent",
        )
        for i in range(1, 9)
    ]
    # lookups built once: a scan of venues and offerers per partner ticket made this slice O(scale^2)
    venue_offerer = {v["id"]: v["managingOffererId"] for v in world.venues}
    offerer_siren = {o["id"]: o["siren"] for o in world.offerers}
    requester_by_app_user: dict[int, int] = {}  # -> user number
    requester_by_venue: dict[int, int] = {}
    # a ticket is appended once complete (its rating changes it); 8,192 at a time as Python values: with their
    # custom fields, 65,536 tickets held about 180 MB (tracemalloc, scale 50)
    tickets, ratings = TableBuilder(chunk=8_192), TableBuilder()
    pre_rating_updates: list[datetime] = []  # each ticket's metric set is made from it, when read
    n_tickets = max(30, round(len(world.users) * TICKETS_PER_USER))
    for k in range(n_tickets):
        r = rng.random()
        if r < 0.85:  # a young user
            wu = rng.choice(world.users)
            created = _between(rng, wu.created_at, end - timedelta(hours=2))
            req = requester_by_app_user.get(wu.id)
            if req is None:
                other_address = rng.random() < 0.08  # writes from another address than the app's
                email = (
                    f"{wu.first_name.lower()}{rng.randint(1, 99)}@mail.example.com".replace(" ", "")
                    if other_address
                    else wu.email
                )
                recorded = wu.id if rng.random() < 0.6 else None
                req = add_user(email, f"{wu.first_name} {wu.last_name}", "end-user", created, wu.id, recorded, "young")
                requester_by_app_user[wu.id] = req
            group, kind = (groups[2] if rng.random() < 0.05 else groups[0]), "young"
        elif r < 0.96:  # someone from a venue
            venue = rng.choice(world.venues)
            created = _between(rng, max(venue["dateCreated"], WORLD_START), end - timedelta(hours=2))
            req = requester_by_venue.get(venue["id"])
            if req is None:
                req = add_user(
                    f"contact@{_slug(venue['name'])}-{venue['id']}.example.fr",
                    venue["name"],
                    "end-user",
                    created,
                    None,
                    None,
                    "partner",
                )
                venue_of[req] = venue["id"]
                requester_by_venue[venue["id"]] = req
            group, kind = groups[1], "partner"
        else:  # a stranger
            created = _between(rng, WORLD_START, end - timedelta(hours=2))
            req = add_user(f"visitor{k}@mail.example.com", f"Visiteur {k}", "end-user", created, None, None, "stranger")
            group, kind = groups[0], "stranger"
        if created_at[req] > (micros := (created - _EPOCH) // _MICRO):
            created_at[req] = updated_at[req] = micros
        age = end - created
        if age > timedelta(days=20):
            status = rng.choice(("closed", "closed", "closed", "solved"))
        elif age > timedelta(days=4):
            status = rng.choice(("solved", "pending", "open", "hold"))
        else:
            status = rng.choice(("new", "open", "pending"))
        updated = (
            created
            if status == "new"
            else _between(rng, created, min(end - timedelta(minutes=2), created + timedelta(days=rng.randint(1, 20))))
        )
        assignee = None if status == "new" else USER_ID_BASE + 1 + rng.choice(agents)
        custom = {}
        for fid, _title, ftype, options in TICKET_FIELDS:
            if (fid == 4490267156124 and kind != "partner") or (
                fid in (4490222594460, 13689298822684) and kind == "partner"
            ):
                value = None
            elif ftype == "multiselect":
                value = rng.sample(options, rng.randint(0, 2)) if (fid != 13689298822684 or group == groups[2]) else []
            elif ftype == "text":
                value = (
                    offerer_siren[venue_offerer[venue_of[req]]] if kind == "partner" and rng.random() < 0.5 else None
                )
            else:
                value = rng.choice(options) if rng.random() < 0.85 else None
            custom[fid] = value
        tags = sorted(
            {v for v in custom.values() if isinstance(v, str) and not v.isdigit()}
            | {t for v in custom.values() if isinstance(v, list) for t in v}
            | {kind}
        )
        ticket = {
            "id": TICKET_ID_BASE + k + 1,
            "created_at": created,
            "updated_at": updated,
            "status": status,
            "priority": rng.choice((None, "low", "normal", "normal", "high", "urgent")),
            "type": rng.choice((None, "question", "incident", "problem", "task")),
            "subject": rng.choice(
                (
                    "Problème de réservation",
                    "Mon crédit n'apparaît pas",
                    "Question sur mon compte",
                    "Remboursement d'une offre",
                    "Validation de mon identité",
                )
            ),
            "description": f"Bonjour, je suis {names[req]} ({emails[req]}), j'ai un souci.",
            "requester_id": USER_ID_BASE + 1 + req,
            "submitter_id": USER_ID_BASE + 1 + req,
            "assignee_id": assignee,
            "group_id": group,
            "brand_id": brands[0],
            "organization_id": None,
            "ticket_form_id": 360000222333 if kind != "partner" else 360000222444,
            "via": {
                "channel": rng.choice(CHANNELS),
                "source": {"from": {"address": emails[req], "name": names[req]}, "to": {}, "rel": None},
            },
            "tags": tags,
            "custom_fields": [{"id": fid, "value": v} for fid, v in custom.items()],
            "_kind": kind,
        }
        pre_rating_updates.append(updated)
        if status in ("solved", "closed") and rng.random() < 0.35:
            rated = _between(rng, updated, min(end - timedelta(minutes=1), updated + timedelta(days=3)))
            score = "good" if rng.random() < 0.75 else "bad"
            rating_id = 900_000 + len(ratings) + 1
            ratings.append(
                {
                    "id": rating_id,
                    "ticket_id": ticket["id"],
                    "assignee_id": assignee,
                    "group_id": group,
                    "requester_id": USER_ID_BASE + 1 + req,
                    "score": score,
                    "comment": rng.choice((None, "Merci !", "Réponse trop lente")),
                    "reason": None if score == "good" else "Problem not solved",
                    "reason_code": 0 if score == "good" else 7,
                    "created_at": rated,
                    "updated_at": rated,
                }
            )
            ticket["satisfaction_rating"] = {"id": rating_id, "score": score}
            # rating a ticket changes it
            ticket["updated_at"] = max(ticket["updated_at"], rated)
        ticket.setdefault(
            "satisfaction_rating", {"score": "offered" if status in ("solved", "closed") else "unoffered"}
        )
        tickets.append(ticket)

    macros = []
    for i, (title, tags) in enumerate(
        [
            ("Crédit::Délai de versement", "credit delai"),
            ("Réservation::Annulation", "reservation annulation"),
            ("Identité::Relance pièce justificative", "identite relance"),
            ("Pro::Remboursement", "pro remboursement"),
            ("Pro::Création d'offre", "pro offre"),
            ("Fraude::Signalement", "fraude"),
            ("Clôture::Sans réponse", "cloture"),
            ("Compte::Changement d'email", "compte email"),
            ("Adage::Accès plateforme", "pro adage"),
            ("Bug::Transfert technique", "bug"),
            ("Crédit::Expiration", "credit expiration"),
            ("Réservation::Contremarque", "reservation contremarque"),
        ]
    ):
        created = _between(rng, WORLD_START - timedelta(days=300), end - timedelta(days=30))
        u7 = rng.randint(0, 60)
        macros.append(
            {
                "id": 360_100_000 + i,
                "title": title,
                "raw_title": title,
                "active": True,
                "description": None,
                "position": i,
                "created_at": created,
                "updated_at": _between(rng, created, end - timedelta(days=1)),
                "actions": [
                    {"field": "set_tags", "value": tags},
                    {"field": "comment_value_html", "value": f"<p>Bonjour, {title.split('::')[1].lower()}.</p>"},
                    {
                        "field": "custom_fields_4490222594460",
                        "value": ["native_credit"] if "Crédit" in title else ["native_reservation"],
                    },
                    {"field": "status", "value": "pending"},
                ],
                "usage_1h": rng.randint(0, 2),
                "usage_24h": rng.randint(0, 10),
                "usage_7d": u7,
                "usage_30d": u7 * 4 + rng.randint(0, 20),
            }
        )
    table = tickets.build()
    order = _export_order(table.times("updated_at").astype(np.int64), table.numbers("id"))
    table = table.take(order)
    return ZendeskSlice(
        _final_users(users.build(), created_at, updated_at, venue_of),
        table,
        fields,
        macros,
        ratings.build(),
        groups,
        brands,
        MetricSets(world.seed, table, [pre_rating_updates[i] for i in order.tolist()]),
    )


def _final_users(users: Table, created_at: array, updated_at: array, venue_of: array) -> Table:
    """The users with what tickets changed set (creation, last update, venue), in the exports' order."""
    final = TableBuilder()
    for n, user in enumerate(users):
        user["created_at"], user["updated_at"] = _EPOCH + created_at[n] * _MICRO, _EPOCH + updated_at[n] * _MICRO
        user["_venue_id"] = venue_of[n] or None
        final.append(user)
    ids = USER_ID_BASE + 1 + np.arange(len(users), dtype=np.int64)
    return final.build().take(_export_order(np.frombuffer(updated_at, dtype=np.int64), ids))


def _export_order(updated_us: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Row numbers in the order of Zendesk's incremental exports: last update to the second (as `unix`
    gives it, from microseconds since 1970), then id."""
    return np.lexsort((ids, updated_us // 1_000_000))


def unix(t: datetime) -> int:
    """A naive UTC time as Zendesk's whole Unix seconds (export stamps and cursors)."""
    return calendar.timegm(t.timetuple())


def iso(t: datetime) -> str:
    return _iso(t)
