"""Adage's slice of the world: cultural partners (venues known to the Éducation nationale) and
involved-student statistics per school year.

Partners are a subset of the world's venues that have a SIRET (so they join
to the app's venues and to Sirene), with the Éducation nationale geography
(region, academy, commune, 3-character department code) and a
`dateModification` spread over the world's history, so an incremental
`dateModificationMin` cursor matters. Statistics are built per department
from the communes' population, then summed per academy and per region, for
every school year the world covers.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sandbox.world.generator import WORLD_END, WORLD_START, World
from sandbox.world.geography import communes, geo
from sandbox.world.table import TableBuilder

STREETS = ("de la Culture", "des Arts", "du Théâtre", "Victor Hugo", "Jean Jaurès")
# Adage's school-year ids: 7 = 2021-22 ... 12 = 2026-27 (id = first calendar year - 2014)
FIRST_YEAR_ID = 7


def year_id_for(start_year: int) -> int:
    return start_year - 2014


# Éducation nationale academy numbers (code académie), keyed by the dbt seed's academy code
ACADEMY_IDS = {
    "paris": 1,
    "aix-marseille": 2,
    "besancon": 3,
    "bordeaux": 4,
    "clermont-ferrand": 6,
    "dijon": 7,
    "grenoble": 8,
    "lille": 9,
    "lyon": 10,
    "montpellier": 11,
    "nancy-metz": 12,
    "poitiers": 13,
    "rennes": 14,
    "strasbourg": 15,
    "toulouse": 16,
    "nantes": 17,
    "orleans-tours": 18,
    "reims": 19,
    "amiens": 20,
    "limoges": 22,
    "nice": 23,
    "creteil": 24,
    "versailles": 25,
    "corse": 27,
    "la-reunion": 28,
    "martinique": 31,
    "guadeloupe": 32,
    "guyane": 33,
    "nouvelle-caledonie": 40,
    "polynesie-francaise": 41,
    "wallis-et-futuna": 42,
    "mayotte": 43,
    "saint-pierre-et-miquelon": 44,
    "normandie": 70,
}
# school levels of the breakdown ('niveaux'), by Adage level id
LEVELS = {"1": "6e", "2": "5e", "3": "4e", "4": "3e", "5": "2nde", "6": "1re", "7": "Terminale", "8": "CAP"}
STATUSES = {1: "Association", 2: "Établissement public", 3: "Collectivité territoriale", 4: "Entreprise privée"}
LABELS = {
    1: "Scène nationale",
    2: "Musée de France",
    3: "SMAC",
    4: "Centre dramatique national",
    5: "Ville d'art et d'histoire",
}
TYPES = {
    1: ("Lieu de diffusion", "theater"),
    2: ("Musée", "museum"),
    3: ("Bibliothèque", "book"),
    4: ("Cinéma", "cinema"),
    5: ("Compagnie", "mask"),
    6: ("Centre d'art", "palette"),
}
DOMAINS = {
    1: "Architecture",
    2: "Arts visuels",
    3: "Cinéma, audiovisuel",
    4: "Danse",
    5: "Musique",
    6: "Patrimoine",
    7: "Théâtre",
    8: "Univers du livre, de la lecture et des écritures",
}
TYPE_BY_VENUE = {"PERFORMING_ARTS": 1, "MUSEUM": 2, "LIBRARY": 3, "BOOKSTORE": 3, "MOVIE": 4, "ARTISTIC_COURSE": 5}
DOMAIN_BY_TYPE = {1: [7, 4, 5], 2: [6, 2], 3: [8], 4: [3], 5: [7, 4], 6: [2, 1]}


def adage_department(code: str) -> str:
    """INSEE department code -> Adage's 3-character code ('75' -> '075', '2A' -> '02A', '971' -> '971')."""
    return code.rjust(3, "0")


def _fmt(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def build(world: World, rng: random.Random) -> dict:
    g = geo()
    partners = TableBuilder()
    for v in world.venues:
        if not v["siret"] or rng.random() > 0.6:
            continue
        c = v["_commune"]
        dept = g["departments"].get(c.department_code, g["departments"]["-1"])
        region_code, academy_code = dept["region_code"], dept["academy_code"]
        created = max(v["dateCreated"], WORLD_START - timedelta(days=365))
        # one modification date per partner, later ones likelier, so the cursor has work to do
        modified = created + (WORLD_END - timedelta(minutes=5) - created) * (rng.random() ** 0.5)
        type_id = TYPE_BY_VENUE.get(v["venueTypeCode"], 6)
        domains = sorted(rng.sample(DOMAIN_BY_TYPE[type_id], rng.randint(1, len(DOMAIN_BY_TYPE[type_id]))))
        status_id = rng.choice(list(STATUSES))
        label_id = rng.choice(list(LABELS)) if rng.random() < 0.3 else None
        synced = rng.random() < 0.85
        partners.append(
            {
                "id": 10_000 + len(partners) * 7 + rng.randint(0, 6),
                "siret": v["siret"],
                "venueId": v["id"] if synced else None,
                "regionId": int(region_code) if region_code.isdigit() else None,
                "regionLibelle": g["regions"].get(region_code) if region_code.isdigit() else None,
                "academieId": ACADEMY_IDS.get(academy_code),
                "academieLibelle": g["academies"].get(academy_code),
                "statutId": status_id,
                "statutLibelle": STATUSES[status_id],
                "labelId": label_id,
                "labelLibelle": LABELS.get(label_id),
                "typeId": type_id,
                "typeLibelle": TYPES[type_id][0],
                "typeIcone": TYPES[type_id][1],
                "communeId": c.citycode,
                "communeLibelle": c.city,
                "communeDepartement": adage_department(c.department_code),
                "libelle": v["name"],
                "adresse": f"{rng.randint(1, 120)} rue {rng.choice(STREETS)}",
                "siteWeb": f"https://www.{v['name'].lower().replace(' ', '-')}.fr" if rng.random() < 0.7 else None,
                "latitude": v["latitude"],
                "longitude": v["longitude"],
                "actif": 1 if rng.random() < 0.95 else 0,
                "synchroPass": 1 if synced else 0,
                "dateModification": _fmt(modified),
                "domaines": ",".join(DOMAINS[d] for d in domains),
                "domaineIds": ",".join(str(d) for d in domains),
            }
        )
    return {"partners": partners.build(), "stats": _stats(world, rng)}


def _stats(world: World, rng: random.Random) -> dict[int, dict]:
    """{year id: {'departements': ..., 'academies': ..., 'regions': ...}} for the years the world covers."""
    g = geo()
    population: dict[str, int] = {}
    for c in communes():
        population[c.department_code] = population.get(c.department_code, 0) + c.population
    departments = [
        d for d, r in g["departments"].items() if r["territory_type"] in ("metropole", "drom") and d in population
    ]
    first = WORLD_START.year - (WORLD_START.month < 9)
    last = WORLD_END.year - (WORLD_END.month < 9)
    years = {}
    for start in range(first, last + 1):
        year_id = year_id_for(start)
        progress = (start - 2021) / 5  # take-up grows year after year
        depts, academies, regions = {}, {}, {}
        for code in sorted(departments):
            schools = max(4, round(population[code] / 9000))
            pupils = schools * rng.randint(350, 650)
            involved = round(pupils * min(0.9, 0.2 + 0.45 * progress + rng.uniform(-0.05, 0.05)))
            involved_schools = min(schools, round(schools * min(1.0, 0.45 + 0.4 * progress + rng.uniform(-0.05, 0.05))))
            shares = [rng.random() + 0.2 for _ in LEVELS]
            levels = {}
            left_i, left_t = involved, pupils
            for i, level in enumerate(LEVELS):
                if i == len(LEVELS) - 1:
                    e, t = left_i, left_t
                else:
                    e, t = round(involved * shares[i] / sum(shares)), round(pupils * shares[i] / sum(shares))
                    e, t = min(e, left_i), min(t, left_t)
                left_i, left_t = left_i - e, left_t - t
                levels[level] = {"eleves": e, "totalEleves": t}
            row = {"eleves": involved, "totalEleves": pupils, "etabs": involved_schools, "totalEtabs": schools}
            key = adage_department(code)
            depts[key] = {"departement": key, **row, "niveaux": levels if rng.random() < 0.8 else []}
            r = g["departments"][code]
            for bucket, group_key, label_field, name in (
                (academies, str(ACADEMY_IDS[r["academy_code"]]), "academie", g["academies"][r["academy_code"]]),
                (regions, str(int(r["region_code"])), "region", g["regions"][r["region_code"]]),
            ):
                agg = bucket.setdefault(
                    group_key,
                    {
                        label_field: name,
                        "eleves": 0,
                        "totalEleves": 0,
                        "etabs": 0,
                        "totalEtabs": 0,
                        "niveaux": {lv: {"eleves": 0, "totalEleves": 0} for lv in LEVELS},
                    },
                )
                for k, value in row.items():
                    agg[k] += value
                for lv, counts in levels.items():
                    agg["niveaux"][lv]["eleves"] += counts["eleves"]
                    agg["niveaux"][lv]["totalEleves"] += counts["totalEleves"]
        for bucket in (academies, regions):
            for entry in bucket.values():
                if rng.random() < 0.15:  # no breakdown published: Adage sends an empty list
                    entry["niveaux"] = []
        years[year_id] = {"departements": depts, "academies": academies, "regions": regions}
    return years
