"""DMS (Démarches Simplifiées) GraphQL API v2: the dossiers of the pass Culture démarches.

One GraphQL query per page, `POST {base_url}/api/v2/graphql` with
`Authorization: Bearer <token>`: `demarche(number) { dossiers(first, after,
updatedSince) { pageInfo nodes } }`, Relay cursor paging from `after: null`
with `first` up to 100 (DS's maximum: the fewest calls for a démarche of thousands of dossiers).

- Each démarche (`demarches`, the jeunes and pro démarches by default)
  is its own resource `dossiers_<number>` writing to the one table `dossiers`,
  so each keeps its own `updatedSince` cursor (`dlt.sources.incremental` on
  `dateDerniereModification`, asked back with a `lookback_minutes` overlap):
  adding a démarche later loads its whole history. Merge on the dossier
  `number` (global in DS), so overlapping pages replace, never duplicate.
- Not paced: DS documents no limit on the GraphQL API (only a 10 s execution
  limit per node, answered as a `timeout` error), and its public rate rules
  (`config/initializers/rack_attack.rb`) throttle sign-in, stats, contact and
  prefill, not `/api/v2/graphql`. The pages are asked one at a time, each after
  the last, so the run never has more than one call in flight; set
  `calls_per_second` if DS ever asks for a pace.
- GraphQL answers errors with HTTP 200 and an `errors` array. A `timeout` is
  retried by the shared HTTP layer (`graphql_check`, within `max_attempts`); any other error
  (`unauthorized`, `not_found`, `invalid_null`...) fails the run with DS's
  message and code. An answer with errors is never read as an empty page,
  and neither is one with no `demarche` at all.
- Regional fields are kept: applicant postcode, INSEE commune, department and
  region codes (jeunes: their residence address champ, with the department and
  postcode champs of the older forms as fallbacks; pro: the establishment's
  address). Pro dossiers keep SIRET / SIREN / NAF / legal form (not the
  company name: for a sole trader it is a person's name; Sirene has it). Names,
  birth dates and street addresses are never requested; the account email
  is only loaded as a salted SHA-256 (`usager_email_hash`, the same function as
  `raw_app.user.email_hash`) so that dossiers join to users.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import dlt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

from .hints import column
from .http import MAX_ATTEMPTS, MalformedPage, Problem, RateLimiter, VendorHttp
from .pii import pii_salt, pseudonymise

VENDOR = "dms"
DEFAULT_BASE_URL = "https://www.demarches-simplifiees.fr"
JEUNES = (47380, 47480)
PRO = (50362, 55475, 57081, 57189, 61589, 62703, 65028, 80264, 81184)
# the older jeunes forms' champs for the applicant's department and postcode (base64 of Champ-596453 / 582221)
DEPARTMENT_CHAMP = "Q2hhbXAtNTk2NDUz"
POSTCODE_CHAMP = "Q2hhbXAtNTgyMjIx"
log = logging.getLogger("pcdata.ingestion")

QUERY = """
query getDossiers($demarcheNumber: Int!, $first: Int, $after: String, $updatedSince: ISO8601DateTime) {
  demarche(number: $demarcheNumber) {
    number
    title
    dossiers(first: $first, after: $after, updatedSince: $updatedSince) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id
        number
        archived
        state
        dateDepot
        dateDerniereModification
        datePassageEnConstruction
        datePassageEnInstruction
        dateTraitement
        groupeInstructeur { number label }
        usager { email }
        demandeur {
          __typename
          ... on PersonneMorale {
            siret
            naf
            libelleNaf
            address { ...AddressFragment }
            entreprise { siren formeJuridique formeJuridiqueCode codeEffectifEntreprise siretSiegeSocial }
          }
        }
        champs {
          __typename
          id
          stringValue
          ... on AddressChamp { address { ...AddressFragment } }
          ... on DepartementChamp { departement { code } }
        }
      }
    }
  }
}
fragment AddressFragment on Address { postalCode cityName cityCode departmentCode regionCode }
"""


def graphql_check(response) -> Problem | None:
    """DS answers GraphQL errors with HTTP 200 and an `errors` array: a `timeout` is asked again
    (within the one retry budget), any other error fails with DS's message and code."""
    if response.status_code >= 400:
        return None
    try:
        body = response.json()
    except ValueError as exc:
        return Problem(f"unreadable page ({exc})", retry=True)
    if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
        return Problem(f"expected a GraphQL response object, got {str(body)[:80]}", retry=True)
    errors = body.get("errors")
    if not errors:
        return None
    codes = [((e.get("extensions") or {}).get("code") or "unknown") for e in errors]
    detail = "; ".join(
        f"{code}: {e.get('message', '?')}" + (f" at {'.'.join(map(str, e['path']))}" if e.get("path") else "")
        for code, e in zip(codes, errors, strict=True)
    )
    hint = ""
    if "unauthorized" in codes:
        hint = (
            " (check the token in sources.dms.api_token, dlt secrets or SOURCES__DMS__API_TOKEN,"
            " and that it is allowed on this démarche)"
        )
    elif "not_found" in codes:
        hint = " (check the démarche numbers in sources.dms.demarches)"
    try:
        demarche = json.loads(response.request.body)["variables"]["demarcheNumber"]
    except (ValueError, TypeError, KeyError):
        demarche = "?"
    return Problem(f"GraphQL errors on démarche {demarche} (HTTP 200): {detail}{hint}", retry=set(codes) == {"timeout"})


DOSSIER_COLUMNS: TTableSchemaColumns = {
    "number": column("bigint", nullable=False),
    "demarche_number": column("bigint"),
    "archived": column("bool"),
    "groupe_instructeur_number": column("bigint"),
    **{
        c: column("timestamp")
        for c in (
            "dateDepot",
            "dateDerniereModification",
            "datePassageEnConstruction",
            "datePassageEnInstruction",
            "dateTraitement",
            "extracted_at",
        )
    },
    **{
        c: column("text")
        for c in (
            "id",
            "demarche_title",
            "state",
            "groupe_instructeur_label",
            "demandeur_type",
            "usager_email_hash",
            "applicant_postal_code",
            "applicant_city_code",
            "applicant_city_name",
            "applicant_department_code",
            "applicant_region_code",
            "demandeur_siret",
            "demandeur_siren",
            "demandeur_naf",
            "demandeur_libelle_naf",
            "demandeur_forme_juridique",
            "demandeur_forme_juridique_code",
            "demandeur_code_effectif_entreprise",
            "demandeur_siret_siege_social",
        )
    },
}
DATE_FIELDS = (
    "dateDepot",
    "dateDerniereModification",
    "datePassageEnConstruction",
    "datePassageEnInstruction",
    "dateTraitement",
)


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _str(value) -> str | None:
    return None if value is None or value == "" else str(value)


def dossier_row(node: dict, demarche: dict, salt: str, extracted_at: datetime) -> dict:
    """One flat row per dossier: state and dates, regional fields, the pro applicant's identifiers; no names."""
    row = {
        "id": node.get("id"),
        "number": int(node["number"]),
        "demarche_number": demarche.get("number"),
        "demarche_title": demarche.get("title"),
        "archived": node.get("archived"),
        "state": node.get("state"),
        **{k: _dt(node.get(k)) for k in DATE_FIELDS},
        "groupe_instructeur_number": (node.get("groupeInstructeur") or {}).get("number"),
        "groupe_instructeur_label": (node.get("groupeInstructeur") or {}).get("label"),
        "usager_email_hash": pseudonymise((node.get("usager") or {}).get("email"), salt),
        "extracted_at": extracted_at,
    }
    demandeur = node.get("demandeur") or {}
    row["demandeur_type"] = demandeur.get("__typename")
    address: dict = {}
    department = postcode = None
    for champ in node.get("champs") or []:
        if champ.get("__typename") == "AddressChamp" and champ.get("address") and not address:
            address = champ["address"]
        elif champ.get("id") == DEPARTMENT_CHAMP:
            department = (champ.get("departement") or {}).get("code") or _str(champ.get("stringValue"))
        elif champ.get("id") == POSTCODE_CHAMP:
            postcode = _str(champ.get("stringValue"))
    if demandeur.get("__typename") == "PersonneMorale":
        address = demandeur.get("address") or address
        entreprise = demandeur.get("entreprise") or {}
        row.update(
            {
                "demandeur_siret": _str(demandeur.get("siret")),
                "demandeur_naf": demandeur.get("naf"),
                "demandeur_libelle_naf": demandeur.get("libelleNaf"),
                "demandeur_siren": _str(entreprise.get("siren")) or (_str(demandeur.get("siret")) or "")[:9] or None,
                "demandeur_forme_juridique": entreprise.get("formeJuridique"),
                "demandeur_forme_juridique_code": _str(entreprise.get("formeJuridiqueCode")),
                "demandeur_code_effectif_entreprise": _str(entreprise.get("codeEffectifEntreprise")),
                "demandeur_siret_siege_social": _str(entreprise.get("siretSiegeSocial")),
            }
        )
    row.update(
        {
            "applicant_postal_code": _str(address.get("postalCode")) or postcode,
            "applicant_city_code": _str(address.get("cityCode")),
            "applicant_city_name": address.get("cityName"),
            "applicant_department_code": _str(address.get("departmentCode")) or department,
            "applicant_region_code": _str(address.get("regionCode")),
        }
    )
    return row


def _page(http: VendorHttp, demarche: int, first: int, after: str | None, updated_since: datetime | None) -> dict:
    """`data.demarche` of one page; never an answer with errors or without data read as no data."""
    variables = {
        "demarcheNumber": demarche,
        "first": first,
        "after": after,
        "updatedSince": updated_since.isoformat() if updated_since else None,
    }
    response = http.post(
        "api/v2/graphql", json={"query": QUERY, "variables": variables, "operationName": "getDossiers"}
    )
    demarche_data: dict | None = (response.json().get("data") or {}).get("demarche")
    connection = (demarche_data or {}).get("dossiers")
    if not demarche_data or not connection or "pageInfo" not in connection or "nodes" not in connection:
        raise MalformedPage(
            f"dms: démarche {demarche}: an answer without errors and without data.demarche.dossiers: "
            f"{response.text[:200]}"
        )
    return demarche_data


def _dossiers(http: VendorHttp, first: int, number: int, salt: str, lookback: timedelta):
    lag = lookback.total_seconds()  # the overlap, applied once: by dlt's incremental

    @dlt.resource(
        name=f"dossiers_{number}",
        table_name="dossiers",
        primary_key="number",
        write_disposition="merge",
        columns=DOSSIER_COLUMNS,
    )
    def dossiers(
        updated=dlt.sources.incremental("dateDerniereModification", initial_value=None, lag=lag),
    ) -> Iterator[list[dict]]:
        since = updated.last_value  # dlt applies the overlap (`lag`): subtracting it again would double it
        after = None  # null, not "": the first page
        while True:
            demarche = _page(http, number, first, after, since)
            connection = demarche["dossiers"]
            extracted_at = datetime.now().astimezone()
            rows = [dossier_row(node, demarche, salt, extracted_at) for node in connection["nodes"]]
            if rows:
                yield rows
            info = connection["pageInfo"]
            if not info.get("hasNextPage"):
                return
            if not info.get("endCursor") or info["endCursor"] == after:
                raise MalformedPage(f"dms: démarche {number}: hasNextPage without a new endCursor")
            after = info["endCursor"]

    return dossiers


@dlt.source(name="dms")
def dms(
    api_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    demarches: list[int] | None = None,
    page_size: int = 100,
    lookback_minutes: float = 60,
    calls_per_second: float | None = None,
    timeout: float = 120,
    max_attempts: int = MAX_ATTEMPTS,
    backoff: float = 2.0,  # a DS-side `timeout` needs seconds, not the default half-second, to clear
):
    http = VendorHttp(
        VENDOR,
        base_url=base_url,
        auth=BearerTokenAuth(api_token),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        limiter=RateLimiter(calls_per_second, 1.0) if calls_per_second else None,
        check=graphql_check,
        timeout=timeout,
        max_attempts=max_attempts,
        backoff=backoff,
        secrets=[api_token],
    )
    first = min(100, max(1, page_size))  # DS caps `first` at 100
    salt = pii_salt()
    lookback = timedelta(minutes=lookback_minutes)
    return [_dossiers(http, first, int(n), salt, lookback) for n in (demarches or (*JEUNES, *PRO))]
