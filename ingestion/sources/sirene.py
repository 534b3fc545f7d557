"""INSEE API Sirene 3.11: legal units and establishments of the app's offerers and venues.

The queue is the SIRENs of `raw_app.offerer` (and SIRETs of `raw_app.venue`)
never looked up or looked up more than `refresh_days` ago. They are asked
100 at a time with a multi-criteria query sent as a POST form (a GET URL with
100 `OR` terms is too long for gateways), paged with
`curseur` deep paging, paced under the 30 calls/min quota. Non-diffusible
units keep their `[ND]` fields as NULL with `is_non_diffusible` set. Units
INSEE does not know come back as `lookup_status = 'not_found'`, so they are
not asked again before the refresh delay.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

import dlt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.helpers.rest_client.auth import APIKeyAuth

from .hints import column, columns
from .http import MAX_ATTEMPTS, RateLimiter, VendorHttp

VENDOR = "sirene"
DEFAULT_BASE_URL = "https://api.insee.fr/api-sirene/3.11"
ND = "[ND]"
# Fields staging reads (vendor names): declared so that they exist even when a run only sees NULLs.
UNIT_COLUMNS: TTableSchemaColumns = {
    "checked_at": column("timestamp"),
    "is_non_diffusible": column("bool"),
    "lookup_status": column("text"),
    **columns(
        (
            "denominationUniteLegale",
            "nomUniteLegale",
            "categorieJuridiqueUniteLegale",
            "activitePrincipaleUniteLegale",
            "etatAdministratifUniteLegale",
            "categorieEntreprise",
            "dateCreationUniteLegale",
            "trancheEffectifsUniteLegale",
        ),
        "text",
    ),
}
ESTABLISHMENT_COLUMNS: TTableSchemaColumns = {
    "checked_at": column("timestamp"),
    "is_non_diffusible": column("bool"),
    "lookup_status": column("text"),
    "etablissementSiege": column("bool"),
    **columns(
        (
            "siren",
            "codePostalEtablissement",
            "codeCommuneEtablissement",
            "libelleCommuneEtablissement",
            "etatAdministratifEtablissement",
            "activitePrincipaleEtablissement",
        ),
        "text",
    ),
}


def _clean(value):
    return None if value == ND else value


def _flatten(
    record: dict, periods_key: str, status_key: str, checked_at: datetime, address_key: str | None = None
) -> dict:
    """One row: the record's scalars, its address fields, its current period's fields.

    The full period history stays as a list (a child table). '[ND]' becomes NULL.
    """
    periods = record.get(periods_key) or []
    current = next((p for p in periods if p.get("dateFin") is None), periods[0] if periods else {})
    row = {k: _clean(v) for k, v in record.items() if not isinstance(v, (list, dict))}
    if address_key:
        row.update({k: _clean(v) for k, v in (record.get(address_key) or {}).items()})
    row.update(
        {
            k: _clean(v)
            for k, v in current.items()
            if not k.startswith("changement") and k not in ("dateDebut", "dateFin")
        }
    )
    row[periods_key] = periods
    row["is_non_diffusible"] = record.get(status_key) == "P"
    row["lookup_status"] = "found"
    row["checked_at"] = checked_at
    return row


def _batches(keys: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(keys)
    while batch := list(islice(it, size)):
        yield batch


def _search(http: VendorHttp, page_size: int, kind: str, collection: str, field: str, keys: list[str]):
    """Every match of `field:k1 OR field:k2 ...`, following `curseurSuivant` to the end.

    A POST form (100 `OR` terms make a GET URL too long), so the cursor travels in the form:
    a short loop on the shared session rather than a RESTClient paginator.
    """
    form = {"q": " OR ".join(f"{field}:{k}" for k in keys), "nombre": str(page_size), "curseur": "*"}
    while True:
        response = http.post(kind, data=form, ok=(404,))
        if response.status_code == 404:  # nothing matches: an answer, not a failure
            return
        body = response.json()
        page = body[collection]
        yield from page
        following = body["header"].get("curseurSuivant")
        # the cursor stops moving at the end; a short page is the end too (saves a call of the quota)
        if not following or following == form["curseur"] or len(page) < page_size:
            return
        form["curseur"] = following


@dlt.source(name="sirene")
def sirene(
    sirens: Iterable[str] | None = None,
    sirets: Iterable[str] | None = None,
    checked_units: dict[str, datetime] | None = None,
    checked_establishments: dict[str, datetime] | None = None,
    refresh_days: int = 30,
    max_per_run: int = 5000,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    batch_size: int = 100,
    page_size: int = 1000,
    calls_per_minute: int = 30,
    timeout: float = 60,
    max_attempts: int = MAX_ATTEMPTS,
):
    """`sirens`/`sirets`: the identifiers the app knows; `checked_*`: when each was last looked up.
    Those never looked up or older than `refresh_days` are asked, at most `max_per_run` of each."""
    sirens = due_for_lookup(sirens or [], checked_units or {}, refresh_days, max_per_run)
    sirets = due_for_lookup(sirets or [], checked_establishments or {}, refresh_days, max_per_run)
    http = VendorHttp(
        VENDOR,
        base_url=base_url,
        auth=APIKeyAuth(name="X-INSEE-Api-Key-Integration", api_key=api_key, location="header"),
        headers={"Accept": "application/json"},
        limiter=RateLimiter(calls_per_minute, 60.0),
        timeout=timeout,
        max_attempts=max_attempts,
        secrets=[api_key],
    )

    @dlt.resource(name="unites_legales", primary_key="siren", write_disposition="merge", columns=UNIT_COLUMNS)
    def unites_legales() -> Iterator[list[dict]]:
        for batch in _batches(sirens or [], batch_size):
            now = datetime.now(UTC)
            rows = [
                _flatten(u, "periodesUniteLegale", "statutDiffusionUniteLegale", now)
                for u in _search(http, page_size, "siren", "unitesLegales", "siren", batch)
            ]
            found = {r["siren"] for r in rows}
            rows += [{"siren": s, "lookup_status": "not_found", "checked_at": now} for s in batch if s not in found]
            yield rows

    @dlt.resource(name="etablissements", primary_key="siret", write_disposition="merge", columns=ESTABLISHMENT_COLUMNS)
    def etablissements() -> Iterator[list[dict]]:
        for batch in _batches(sirets or [], batch_size):
            now = datetime.now(UTC)
            rows = [
                _flatten(e, "periodesEtablissement", "statutDiffusionEtablissement", now, "adresseEtablissement")
                for e in _search(http, page_size, "siret", "etablissements", "siret", batch)
            ]
            found = {r["siret"] for r in rows}
            rows += [
                {"siret": s, "siren": s[:9], "lookup_status": "not_found", "checked_at": now}
                for s in batch
                if s not in found
            ]
            yield rows

    return unites_legales, etablissements


def due_for_lookup(
    known: Iterable[str], checked: dict[str, datetime], refresh_days: int, limit: int, now: datetime | None = None
) -> list[str]:
    """Identifiers never looked up, or looked up more than `refresh_days` ago, at most `limit`."""
    now = now or datetime.now(UTC)
    horizon = now - timedelta(days=refresh_days)
    due = []
    for key in sorted(set(known)):
        last = checked.get(key)
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        if last is None or last < horizon:
            due.append(key)
            if len(due) >= limit:
                break
    return due
