"""Real French communes (INSEE code, postcode, department, coordinates, population).

`data/communes.csv` is derived from public INSEE/La Poste/Etalab data: every
commune of 5,000 inhabitants or more, the four largest of each department, the
arrondissements of Paris, Lyon and Marseille, and the main commune of each
overseas collectivity. Users and venues are drawn from it weighted by
population, so the regional marts have a realistic shape.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "communes.csv"


@dataclass(frozen=True)
class Commune:
    citycode: str  # INSEE commune code, e.g. '2A004'
    city: str
    postcode: str
    department_code: str
    population: int
    latitude: float
    longitude: float


@lru_cache(maxsize=1)
def communes() -> tuple[Commune, ...]:
    with DATA.open(encoding="utf-8") as f:
        return tuple(
            Commune(
                citycode=r["citycode"],
                city=r["city"],
                postcode=r["postcode"],
                department_code=r["department_code"],
                population=int(r["population"]),
                latitude=float(r["latitude"]),
                longitude=float(r["longitude"]),
            )
            for r in csv.DictReader(f)
        )


@lru_cache(maxsize=1)
def communes_by_postcode() -> dict[str, list[Commune]]:
    out: dict[str, list[Commune]] = {}
    for c in communes():
        out.setdefault(c.postcode, []).append(c)
    return out


def postcode_to_department(postcode: str | None) -> str:
    """The same rule as the dbt macro `postcode_to_department` (kept in step by a test)."""
    pc = (postcode or "").strip()
    if len(pc) != 5 or not pc.isdigit():
        return "-1"
    if pc == "97150":
        return "978"
    if pc == "97133":
        return "977"
    if pc.startswith("975"):
        return "975"
    if pc[:3] in ("971", "972", "973", "974", "976", "986", "987", "988"):
        return pc[:3]
    if pc[:3] in ("200", "201", "205", "209"):
        return "2A"
    if pc[:3] in ("202", "206"):
        return "2B"
    if pc[:2] in ("97", "98", "00", "20", "96", "99"):
        return "-1"
    return pc[:2]


def lambert93(latitude: float, longitude: float) -> tuple[float, float]:
    """WGS84 -> Lambert-93 (EPSG:2154), the x/y that API Adresse returns.

    Closed-form Lambert conformal conic on the GRS80 ellipsoid (IGN's published
    constants); precise to well under a metre, plenty for a sandbox.
    """
    e = 0.0818191910428158
    n = 0.7256077650532670
    c = 11754255.426096
    xs, ys = 700000.0, 12655612.049876
    lon0 = math.radians(3.0)
    lat, lon = math.radians(latitude), math.radians(longitude)
    iso = math.log(math.tan(math.pi / 4 + lat / 2) * ((1 - e * math.sin(lat)) / (1 + e * math.sin(lat))) ** (e / 2))
    r = c * math.exp(-n * iso)
    gamma = n * (lon - lon0)
    return round(xs + r * math.sin(gamma), 2), round(ys - r * math.cos(gamma), 2)


SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "geo"


@lru_cache(maxsize=1)
def department_context() -> dict[str, str]:
    """department code -> "code, department name, region name", as API Adresse's `context`.

    Read from the dbt geography seeds, the one place the official names live.
    """
    with (SEEDS / "geo_regions.csv").open(encoding="utf-8") as f:
        regions = {r["region_code"]: r["region_name"] for r in csv.DictReader(f)}
    with (SEEDS / "geo_departments.csv").open(encoding="utf-8") as f:
        return {
            r["department_code"]: f"{r['department_code']}, {r['department_name']}, {regions[r['region_code']]}"
            for r in csv.DictReader(f)
        }


@lru_cache(maxsize=1)
def geo() -> dict:
    """department -> (region code, academy code), and the names, from the dbt seeds."""

    def read(name: str) -> list[dict]:
        with (SEEDS / name).open(encoding="utf-8") as f:
            return list(csv.DictReader(f))

    return {
        "departments": {r["department_code"]: r for r in read("geo_departments.csv")},
        "regions": {r["region_code"]: r["region_name"] for r in read("geo_regions.csv")},
        "academies": {r["academy_code"]: r["academy_name"] for r in read("geo_academies.csv")},
    }
