"""DMS (Démarches Simplifiées) slice of the world: the dossiers of the pass Culture démarches.

- "jeunes" démarches (47380 for the 15-17 credit, 47480 for the 18 credit): one
  accepted dossier for each deposit the world granted through DMS
  (`deposit.source == 'dms'`), plus refused, abandoned and pending dossiers of
  users who never got a credit. The applicant's address is the user's
  commune at filing time (real postcode, INSEE code, department, region).
- "pro" démarches: one dossier for most offerers, filed by the offerer as a
  legal person (SIRET of its head-office venue, SIREN of the offerer).

Dossier numbers are global and grow with the filing date; every date is a
naive UTC datetime inside the world's history. The dossiers are a `Table` (held
as columns, dicts on read) naming their applicant by id: `userId` for a young
person's (`world.user(id)`), `offererId` for a pro's.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sandbox.world.generator import WORLD_END, World
from sandbox.world.geography import geo
from sandbox.world.table import Table

JEUNES = {"GRANT_15_17": 47380, "GRANT_18": 47480}
PRO = (50362, 55475, 57081, 57189, 61589, 62703, 65028, 80264, 81184)
TITLES = {
    47380: "pass Culture - Demande de crédit 15-17 ans",
    47480: "pass Culture - Demande de crédit 18 ans",
    **{n: f"pass Culture - Référencement des acteurs culturels ({i + 1})" for i, n in enumerate(PRO)},
}
LEGAL_FORMS = {
    "5710": "SAS, société par actions simplifiée",
    "5499": "Société à responsabilité limitée (sans autre indication)",
    "1000": "Entrepreneur individuel",
    "9220": "Association déclarée",
}
NAF_LABELS = {
    "90.01Z": "Arts du spectacle vivant",
    "91.02Z": "Gestion des musées",
    "91.01Z": "Gestion des bibliothèques et des archives",
    "47.61Z": "Commerce de détail de livres en magasin spécialisé",
    "59.14Z": "Projection de films cinématographiques",
}


STREETS = ("de la République", "Victor Hugo", "Pasteur", "des Écoles", "du Moulin")


def _address(commune, rng: random.Random) -> dict:
    dept = geo()["departments"].get(commune.department_code, geo()["departments"]["-1"])
    street = f"{rng.randint(1, 150)} rue {rng.choice(STREETS)}"
    return {
        "label": f"{street} {commune.postcode} {commune.city}",
        "type": "housenumber",
        "streetAddress": street,
        "streetNumber": street.split(" ")[0],
        "streetName": street.split(" ", 1)[1],
        "postalCode": commune.postcode,
        "cityName": commune.city,
        "cityCode": commune.citycode,
        "departmentName": None,
        "departmentCode": commune.department_code,
        "regionName": geo()["regions"].get(dept["region_code"]),
        "regionCode": dept["region_code"] if dept["region_code"].isdigit() else None,
    }


def _progress(rng: random.Random, filed: datetime, outcome: str, decided: datetime | None = None) -> dict:
    """State dates of a dossier filed at `filed` ending in `outcome` (None dates when not reached)."""
    instruction = filed + timedelta(hours=rng.randint(2, 24 * 5))
    done = decided or instruction + timedelta(hours=rng.randint(2, 24 * 10))
    instruction = max(filed, min(instruction, done - timedelta(hours=1)))
    if outcome == "en_construction" or instruction >= WORLD_END:
        outcome, instruction, done = "en_construction", None, None
    elif outcome == "en_instruction" or done >= WORLD_END:
        outcome, done = "en_instruction", None
    last = max(t for t in (filed, instruction, done) if t is not None)
    if rng.random() < 0.15:  # an annotation or message edited later
        last = min(WORLD_END - timedelta(minutes=1), last + timedelta(days=rng.randint(1, 200)))
    return {
        "state": outcome,
        "dateDepot": filed,
        "datePassageEnConstruction": filed,
        "datePassageEnInstruction": instruction,
        "dateTraitement": done,
        "dateDerniereModification": last,
        "archived": outcome in ("accepte", "refuse", "sans_suite") and rng.random() < 0.2,
    }


def build(world: World, rng: random.Random) -> Table:
    dossiers: list[dict] = []
    with_credit = set()
    for d in world.deposits:
        if d["source"] != "dms":
            continue
        u = world.user(d["userId"])
        with_credit.add(u.id)
        filed = max(u.created_at, d["dateCreated"] - timedelta(days=rng.randint(2, 20), hours=rng.randint(0, 23)))
        dossiers.append(
            {
                "demarche": JEUNES[d["type"]],
                "kind": "jeune",
                "userId": u.id,
                "offererId": None,
                "siret": None,
                "address": _address(u.move_at(filed).commune, rng),
                **_progress(rng, filed, "accepte", decided=d["dateCreated"]),
            }
        )
    for u in world.users:
        if u.id in with_credit or rng.random() > 0.12:
            continue
        filed = u.created_at + timedelta(days=rng.randint(0, 30))
        if filed >= WORLD_END:
            continue
        age = u.age_on(filed.date())
        dossiers.append(
            {
                "demarche": JEUNES["GRANT_18"] if age >= 18 else JEUNES["GRANT_15_17"],
                "kind": "jeune",
                "userId": u.id,
                "offererId": None,
                "siret": None,
                "address": _address(u.move_at(filed).commune, rng),
                **_progress(
                    rng, filed, rng.choice(("refuse", "refuse", "sans_suite", "en_instruction", "en_construction"))
                ),
            }
        )
    venues_by_offerer: dict[int, list[dict]] = {}
    for v in world.venues:
        venues_by_offerer.setdefault(v["managingOffererId"], []).append(v)
    for o in world.offerers:
        if rng.random() > 0.6:
            continue
        head = next((v for v in venues_by_offerer.get(o["id"], []) if v["siret"]), None)
        filed = o["dateCreated"] + timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 23))
        if filed >= WORLD_END or head is None:
            continue
        dossiers.append(
            {
                "demarche": rng.choice(PRO),
                "kind": "pro",
                "userId": None,
                "offererId": o["id"],
                "siret": head["siret"],
                "address": _address(head["_commune"], rng),
                **_progress(rng, filed, rng.choice(("accepte", "accepte", "accepte", "refuse", "en_instruction"))),
            }
        )
    dossiers.sort(key=lambda x: x["dateDepot"])
    number = 5_000_000
    for d in dossiers:
        number += rng.randint(1, 40)
        d["number"] = number
    return Table.from_rows(dossiers)
