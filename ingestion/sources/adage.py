"""Adage (Éducation nationale, "Omogen" gateway): cultural partners and involved-student statistics.

- `partenaire_culturel`: `GET /partenaire-culturel?dateModificationMin=...`, one JSON
  array, no pagination. Incremental on `dateModification` (Paris local time,
  'YYYY-MM-DD HH:MM:SS'): each run asks from the last maximum seen minus a
  small lookback (`lookback_hours`, late commits on Adage's side), merge on
  `id`, so the overlap replaces rows and never duplicates them.
- `involved_students`: `GET /stats-pass-culture/{yearId}` for each school year
  in `year_ids` (default: the previous and the current one), a snapshot
  flattened to one row per (year, metric_name, metric_id, level), `level`
  'all' for the totals and the level id for each breakdown line; merge on that
  key. `niveaux` is an empty list when Adage has no breakdown and an object
  keyed by level id otherwise: both are read.

No documented rate limit: calls are spaced (`calls_per_second`); 429/5xx, drops and
cut pages are retried within `max_attempts` (http.VendorHttp); any other non-200
fails with the vendor's message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import dlt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.helpers.requests import Response
from dlt.sources.helpers.rest_client.auth import APIKeyAuth

from .hints import column
from .http import MAX_ATTEMPTS, MalformedPage, RateLimiter, VendorHttp, checked

VENDOR = "adage"
DEFAULT_BASE_URL = "https://omogen-api-pr.phm.education.gouv.fr/adage-api/v1"
PARIS = ZoneInfo("Europe/Paris")
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
METRICS = (("departements", "departement"), ("academies", "academie"), ("regions", "region"))
log = logging.getLogger("pcdata.ingestion")


PARTNER_COLUMNS: TTableSchemaColumns = {  # vendor names, as the rows carry them (dlt normalizes both the same way)
    "id": column("bigint", nullable=False),
    "dateModification": column("timestamp"),
    "venueId": column("bigint"),
    "actif": column("bool"),
    "synchroPass": column("bool"),
    "latitude": column("double"),
    "longitude": column("double"),
    "regionId": column("bigint"),
    "academieId": column("bigint"),
    "statutId": column("bigint"),
    "labelId": column("bigint"),
    "typeId": column("bigint"),
    **{
        c: column("text")
        for c in (
            "siret",
            "libelle",
            "communeId",
            "communeLibelle",
            "communeDepartement",
            "regionLibelle",
            "academieLibelle",
            "statutLibelle",
            "labelLibelle",
            "typeLibelle",
            "domaines",
            "domaineIds",
            "siteWeb",
        )
    },
}
STATS_COLUMNS: TTableSchemaColumns = {
    "educational_year_adage_id": column("bigint", nullable=False),
    "metric_name": column("text", nullable=False),
    "metric_id": column("text", nullable=False),
    "level": column("text", nullable=False),
    "metric_key": column("text"),
    "involved_students": column("bigint"),
    "total_involved_students": column("bigint"),
    "institutions": column("bigint"),
    "total_institutions": column("bigint"),
    "snapshot_at": column("timestamp"),
}


def school_year_id(today: date) -> int:
    """Adage's id of the school year holding `today`: 7 = 2021-22, 11 = 2025-26 (first year - 2014)."""
    return (today.year if today.month >= 9 else today.year - 1) - 2014


def parse_modified(value: str) -> datetime:
    """Adage's 'YYYY-MM-DD HH:MM:SS' (Paris local time) -> an aware datetime."""
    return datetime.strptime(value.strip()[:19].replace("T", " "), DATE_FORMAT).replace(tzinfo=PARIS)


def _int(value):
    if value is None or value == "":
        return None
    return int(float(value))


def _float(value):
    return None if value is None or value == "" else float(value)


def _bool(value):
    return None if value is None or value == "" else bool(int(float(value)))


def _partner(raw: dict) -> dict:
    row = dict(raw)  # unknown (new) fields pass through: dlt adds the columns
    row.pop("adresse", None)  # the street address: no mart needs it (commune and coordinates are kept)
    for key in ("id", "venueId", "regionId", "academieId", "statutId", "labelId", "typeId"):
        if key in row:
            row[key] = _int(row[key])
    for key in ("latitude", "longitude"):
        if key in row:
            row[key] = _float(row[key])
    for key in ("actif", "synchroPass"):
        if key in row:
            row[key] = _bool(row[key])
    for key in ("siret", "communeId", "communeDepartement"):
        if row.get(key) is not None:
            row[key] = str(row[key])
    row["dateModification"] = parse_modified(row["dateModification"]) if row.get("dateModification") else None
    return row


def _partners_page(response: Response) -> list[dict]:
    body = response.json()
    if not isinstance(body, list):
        raise MalformedPage(f"expected a JSON array of partners, got {type(body).__name__}")
    return body


def _entries(block) -> list[tuple[str, dict]]:
    """Adage encodes an empty map as [] (PHP): read both."""
    if isinstance(block, dict):
        return [(str(k), v) for k, v in block.items()]
    if isinstance(block, list) and not block:
        return []
    raise MalformedPage(f"expected an object keyed by id (or []), got {type(block).__name__} of {len(block)} items")


def _stats_page(response: Response) -> dict:
    body = response.json()
    if not isinstance(body, dict) or not any(name in body for name, _ in METRICS):
        raise MalformedPage(f"expected the stats object (departements/academies/regions), got {str(body)[:80]}")
    for name, _ in METRICS:
        for _, entry in _entries(body.get(name) or []):
            _entries(entry.get("niveaux") or [])  # validate now, so a bad page is re-asked
    return body


def stats_rows(year_id: int, body: dict, snapshot_at: datetime) -> list[dict]:
    rows = []
    for metric_name, label_field in METRICS:
        for metric_id, entry in _entries(body.get(metric_name) or []):
            base = {
                "educational_year_adage_id": year_id,
                "metric_name": metric_name,
                "metric_id": metric_id,
                "metric_key": None if entry.get(label_field) is None else str(entry.get(label_field)),
                "snapshot_at": snapshot_at,
            }
            rows.append(
                {
                    **base,
                    "level": "all",
                    "involved_students": _int(entry.get("eleves")),
                    "total_involved_students": _int(entry.get("totalEleves")),
                    "institutions": _int(entry.get("etabs")),
                    "total_institutions": _int(entry.get("totalEtabs")),
                }
            )
            for level_id, counts in _entries(entry.get("niveaux") or []):
                rows.append(
                    {
                        **base,
                        "level": level_id,
                        "involved_students": _int(counts.get("eleves")),
                        "total_involved_students": _int(counts.get("totalEleves")),
                        "institutions": _int(counts.get("etabs")),
                        "total_institutions": _int(counts.get("totalEtabs")),
                    }
                )
    return rows


@dlt.source(name="adage")
def adage(
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    year_ids: list[int] | None = None,
    initial_modified_since: str = "2021-01-01 00:00:00",
    lookback_hours: float = 24,
    calls_per_second: float = 5,
    timeout: float = 120,
    max_attempts: int = MAX_ATTEMPTS,
):
    http = VendorHttp(
        VENDOR,
        base_url=base_url,
        auth=APIKeyAuth(name="X-omogen-api-key", api_key=api_key, location="header"),
        headers={"Accept": "application/json"},
        limiter=RateLimiter(calls_per_second, 1.0),
        timeout=timeout,
        max_attempts=max_attempts,
        secrets=[api_key],
    )
    if year_ids is None:
        current = school_year_id(datetime.now(PARIS).date())
        year_ids = [current - 1, current]
    initial_modified = parse_modified(initial_modified_since)

    @dlt.resource(name="partenaire_culturel", primary_key="id", write_disposition="merge", columns=PARTNER_COLUMNS)
    def partenaire_culturel(
        modified=dlt.sources.incremental("dateModification", initial_value=initial_modified, lag=lookback_hours * 3600),
    ) -> Iterator[list[dict]]:
        # the lookback (Adage may commit a change late) is dlt's `lag`, already applied to last_value
        since = modified.last_value or initial_modified
        param = since.astimezone(PARIS).strftime(DATE_FORMAT)
        response = http.get("partenaire-culturel", params={"dateModificationMin": param}, check=checked(_partners_page))
        yield [_partner(p) for p in _partners_page(response)]

    @dlt.resource(
        name="involved_students",
        write_disposition="merge",
        columns=STATS_COLUMNS,
        primary_key=("educational_year_adage_id", "metric_name", "metric_id", "level"),
    )
    def involved_students() -> Iterator[list[dict]]:
        for year_id in year_ids:
            response = http.get(f"stats-pass-culture/{int(year_id)}", ok=(404,), check=checked(_stats_page))
            if response.status_code == 404:
                log.warning("adage: no statistics for school year id %s (404); skipped", year_id)
                continue
            yield stats_rows(int(year_id), _stats_page(response), datetime.now(UTC))

    return partenaire_culturel, involved_students
