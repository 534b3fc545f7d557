"""The Qualtrics slice of the world: the surveys of the account and their responses.

Three long-lived "IR" (impact) surveys collect answers all along the world's
history, as monthly mailing-list pushes feed them: young
beneficiaries of the 18-year credit, of the 15-17 credit, and partners
(venues). Their region and department arrive as embedded data with the
user or venue id (never an email). The account also holds a hundred other
surveys, mostly inactive, so that the survey list runs over two pages.

Use through `world.slice("qualtrics", build)`.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sandbox.world.generator import WORLD_START, World, _between
from sandbox.world.geography import department_context
from sandbox.world.table import Table

OTHER_SURVEYS = 105
RESPONSE_RATE = 0.2

YOUNG_QUESTIONS = [  # (column id, question text, import id, kind)
    ("Q1", "Quelle est la probabilité que vous recommandiez le pass Culture à un ami ? (0 à 10)", "QID1", "nps"),
    ("Q2", "Le pass Culture vous a-t-il fait découvrir de nouvelles pratiques culturelles ?", "QID2", "likert"),
    ("Q2_5_TEXT", "Le pass Culture vous a-t-il fait découvrir ... ? - Autre - Texte", "QID2_5_TEXT", "other_text"),
    ("Q3", "Qu'avez-vous réservé en premier ?", "QID3", "choice"),
    ("Q4", "Pourquoi ?", "QID4_TEXT", "open_text"),
    ("Q4_Topics", "Pourquoi ? - Topics", "QID4_TEXT_TOPICS", "topics"),
]
PARTNER_QUESTIONS = [
    ("Q1", "Recommanderiez-vous le pass Culture à un autre acteur culturel ? (0 à 10)", "QID1", "nps"),
    ("Q2", "Le pass Culture a-t-il fait venir un nouveau public ?", "QID2", "likert"),
    ("Q3", "Quelle part de votre chiffre d'affaires passe par le pass Culture ?", "QID3", "share"),
    ("Q4", "Commentaires", "QID4_TEXT", "open_text"),
]
CHOICES = ("Un livre", "Une place de cinéma", "Un concert", "Un instrument", "Un abonnement numérique")
TOPICS = ("Prix", "Découverte", "Application", "Offres locales", "Délais")


@dataclass
class QualtricsSlice:
    surveys: list[dict]  # {id, name, ownerId, lastModified, creationDate, isActive, _kind}
    # survey id -> responses (column id -> value, plus '_recorded'), a Table each: columns, dicts on read
    responses: dict[str, Sequence[dict]]
    questions: dict[str, list[tuple]]
    embedded: dict[str, list[str]]


def _survey_id(rng: random.Random) -> str:
    return "SV_" + "".join(rng.choices(string.ascii_letters + string.digits, k=15))


def build(world: World, rng: random.Random) -> QualtricsSlice:
    owner = "UR_" + "".join(rng.choices(string.ascii_letters + string.digits, k=15))
    ctx = department_context()
    region_of = {dep: text.split(", ")[-1] for dep, text in ctx.items()}
    start = WORLD_START
    ir = [
        {"id": _survey_id(rng), "name": "IR jeunes - crédit 18 ans", "_kind": "young_18"},
        {"id": _survey_id(rng), "name": "IR jeunes - crédit 15-17 ans", "_kind": "young_15_17"},
        {"id": _survey_id(rng), "name": "IR acteurs culturels", "_kind": "partners"},
    ]
    surveys = []
    for s in ir:
        surveys.append(
            {
                **s,
                "ownerId": owner,
                "isActive": True,
                "creationDate": (start - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "lastModified": (world.end - timedelta(days=rng.randint(2, 40))).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    for i in range(OTHER_SURVEYS):
        created = _between(rng, start - timedelta(days=700), world.end - timedelta(days=10))
        surveys.append(
            {
                "id": _survey_id(rng),
                "name": f"Enquête interne {i + 1:03d}",
                "_kind": "other",
                "ownerId": owner,
                "isActive": i < 3,
                "creationDate": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "lastModified": _between(rng, created, world.end - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    rng.shuffle(surveys)

    responses: dict[str, list[dict]] = {s["id"]: [] for s in surveys}
    questions = {s["id"]: (PARTNER_QUESTIONS if s["_kind"] == "partners" else YOUNG_QUESTIONS) for s in surveys}
    embedded = {
        s["id"]: (
            ["venue_id", "offerer_id", "venue_type_label", "region", "department"]
            if s["_kind"] == "partners"
            else ["user_id", "deposit_type", "age", "region", "department"]
        )
        for s in surveys
    }
    by_kind = {s["_kind"]: s for s in surveys if s["_kind"] != "other"}

    def meta(recorded: datetime, ext_ref: str) -> dict:
        duration = rng.randint(40, 900)
        started = recorded - timedelta(seconds=duration)
        return {
            "StartDate": started,
            "EndDate": recorded,
            "Status": "0",
            "IPAddress": f"90.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "Progress": "100",
            "Duration (in seconds)": str(duration),
            "Finished": "1",
            "RecordedDate": recorded,
            "ResponseId": "R_" + "".join(rng.choices(string.ascii_letters + string.digits, k=15)),
            "RecipientLastName": "",
            "RecipientFirstName": "",
            "RecipientEmail": "",
            "ExternalReference": ext_ref,
            "LocationLatitude": f"{rng.uniform(43, 50):.4f}",
            "LocationLongitude": f"{rng.uniform(-1, 7):.4f}",
            "DistributionChannel": "email",
            "UserLanguage": "FR",
            "_recorded": recorded,
        }

    for d in world.deposits:
        if rng.random() > RESPONSE_RATE:
            continue
        u = world.user(d["userId"])
        lo = d["dateCreated"] + timedelta(days=30)
        if lo >= world.end - timedelta(days=1):
            continue
        recorded = _between(rng, lo, world.end - timedelta(hours=1))
        dep = u.move_at(recorded).commune.department_code
        survey = by_kind["young_18" if d["type"] == "GRANT_18" else "young_15_17"]
        r = meta(recorded, str(u.id))
        r.update(
            {
                "RecipientLastName": u.last_name,
                "RecipientFirstName": u.first_name,
                "RecipientEmail": u.email,
                "Q1": str(rng.choices(range(11), weights=[1, 1, 1, 1, 2, 3, 4, 6, 9, 8, 7])[0]),
                "Q2": str(rng.randint(1, 5)),
                "Q2_5_TEXT": "",
                "Q3": rng.choice(CHOICES),
                "Q4": rng.choice(("", "C'est super", f"Je m'appelle {u.first_name}, merci")),
                "Q4_Topics": rng.choice(("", *TOPICS)),
                "user_id": str(u.id),
                "deposit_type": d["type"],
                "age": str(u.age_on(recorded.date())),
                "region": region_of.get(dep, ""),
                "department": dep,
            }
        )
        responses[survey["id"]].append(r)
    partner_survey = by_kind["partners"]
    for v in world.venues:
        if v["isVirtual"] or rng.random() > RESPONSE_RATE * 2:
            continue
        lo = max(v["dateCreated"] + timedelta(days=60), start)
        if lo >= world.end - timedelta(hours=1):  # too recent to have answered before the world's end
            continue
        recorded = _between(rng, lo, world.end - timedelta(hours=1))
        dep = v["departementCode"]
        r = meta(recorded, str(v["id"]))
        r.update(
            {
                "Q1": str(rng.randint(3, 10)),
                "Q2": str(rng.randint(1, 5)),
                "Q3": rng.choice(("<10%", "10-30%", ">30%")),
                "Q4": rng.choice(("", "Les remboursements sont longs")),
                "venue_id": str(v["id"]),
                "offerer_id": str(v["managingOffererId"]),
                "venue_type_label": v["venueTypeCode"],
                "region": region_of.get(dep, ""),
                "department": dep,
            }
        )
        responses[partner_survey["id"]].append(r)
    for s in surveys:
        if s["_kind"] == "other" and s["isActive"]:
            for _ in range(rng.randint(2, 6)):
                u = rng.choice(world.users)
                r = meta(_between(rng, world.end - timedelta(days=300), world.end - timedelta(hours=1)), str(u.id))
                r.update(
                    {
                        "Q1": str(rng.randint(0, 10)),
                        "Q2": str(rng.randint(1, 5)),
                        "user_id": str(u.id),
                        "deposit_type": "",
                        "age": "",
                        "region": "",
                        "department": "",
                    }
                )
                responses[s["id"]].append(r)
    ordered = {sid: Table.from_rows(sorted(rows, key=lambda r: r["_recorded"])) for sid, rows in responses.items()}
    return QualtricsSlice(surveys, ordered, questions, embedded)
