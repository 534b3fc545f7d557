"""DMS (Démarches Simplifiées) GraphQL API v2 sandbox.

Contract (DS source `app/graphql/api/v2/schema.rb` and
`graphql_controller.rb`): one endpoint, `POST /api/v2/graphql`, JSON body
`{query, variables, operationName}`, `Authorization: Bearer <token>` (DS also
reads `Bearer token=<token>`). `demarche(number) { dossiers(first, after,
updatedSince) { pageInfo { hasNextPage endCursor } nodes | edges { node cursor } } }`:
Relay cursor paging, `first` silently capped at 100 (graphql-ruby
`max_page_size`), opaque base64 cursors; `updatedSince` keeps the dossiers
modified at or after it, in modification order. Errors come back with HTTP 200
and an `errors` array whose `extensions.code` is `unauthorized` (a token not
allowed on the démarche: "An object of type Demarche was hidden due to
permissions"), `not_found`, `timeout` (30 s query timeout) or `invalid_null`.
Only a syntax problem (unparsable JSON) is a 400.

The sandbox does not parse GraphQL; it answers the full dossier shape trimmed
to the field names the query mentions, which is close enough to a selection.

Fault knobs: besides the framework's, `fail_next` accepts the GraphQL failures
`'gql_timeout'` (data null + timeout error), `'gql_invalid_null'` (an EMPTY
page plus an invalid_null error: the trap of reading errors as "no data"),
`'gql_unauthorized'` and `'gql_not_found'`.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sandbox.framework import Request, Response, VendorSandbox

from .world import LEGAL_FORMS, NAF_LABELS, TITLES, build

PARIS = ZoneInfo("Europe/Paris")
MAX_PAGE_SIZE = 100
GRAPHQL_FAULTS = ("gql_timeout", "gql_invalid_null", "gql_unauthorized", "gql_not_found")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _ts(t: datetime | None) -> str | None:
    return None if t is None else t.replace(tzinfo=UTC).astimezone(PARIS).isoformat()


def _typed_id(kind: str, value) -> str:
    return base64.b64encode(f"{kind}-{value}".encode()).decode()


def _error(message: str, code: str, path: list, line: int = 2, column: int = 3) -> dict:
    return {
        "message": message,
        "locations": [{"line": line, "column": column}],
        "path": path,
        "extensions": {"code": code},
    }


def _trim(value, words: set[str]):
    """Keep only the keys the query names (a rough GraphQL selection)."""
    if isinstance(value, dict):
        return {k: _trim(v, words) for k, v in value.items() if k in words}
    if isinstance(value, list):
        return [_trim(v, words) for v in value]
    return value


class DmsSandbox(VendorSandbox):
    name = "dms"
    rate_limit = None  # DS documents no GraphQL throttle

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        self.dossiers = world.slice("dms", build)  # a Table: columns, dicts on read
        self.by_demarche: dict[int, list[int]] = {n: [] for n in TITLES}  # démarche -> row numbers
        for row, demarche in enumerate(self.dossiers.column("demarche")):
            self.by_demarche[demarche].append(row)
        self._offerers = {o["id"]: o for o in world.offerers}
        # (démarche, date field) -> the cursor keys in order and the row numbers in that order, sorted on
        # first use: a page is then a bisection, not a sort of the whole démarche (which made a full
        # load quadratic: about 53 minutes for the 246,000 dossiers of a démarche at scale 200)
        self._orders: dict[tuple[int, str], tuple[list[tuple[str, int]], list[int]]] = {}

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        return {"base_url": base_url, "api_token": api_key}

    def routes(self):
        return [("POST", r"/api/v2/graphql/?", self.graphql)]

    # --- contract shapes ------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        with self._lock:
            head = self.faults.fail_next[0] if self.faults.fail_next else None
            if head in GRAPHQL_FAULTS:
                self.faults.fail_next.popleft()
                self.stats["requests"] += 1
                self.stats["faults"] += 1
                self.calls.append((req.method, req.path))
        if head in GRAPHQL_FAULTS:
            return self._graphql_fault(head)
        return super().handle(req)

    def _graphql_fault(self, fault: str) -> Response:
        if fault == "gql_timeout":
            return Response.json(
                {
                    "data": None,
                    "errors": [_error("Timeout on Demarche.dossiers", "timeout", ["demarche", "dossiers"], 4, 5)],
                }
            )
        if fault == "gql_invalid_null":
            empty = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": [], "edges": []}
            return Response.json(
                {
                    "data": {"demarche": {"number": None, "title": None, "dossiers": empty}},
                    "errors": [
                        _error(
                            "Cannot return null for non-nullable field Dossier.demandeur",
                            "invalid_null",
                            ["demarche", "dossiers", "nodes", 0, "demandeur"],
                            9,
                            9,
                        )
                    ],
                }
            )
        if fault == "gql_unauthorized":
            return self._unauthorized()
        return Response.json({"data": None, "errors": [_error("Demarche not found", "not_found", ["demarche"])]})

    def _unauthorized(self) -> Response:
        return Response.json(
            {
                "data": None,
                "errors": [
                    _error("An object of type Demarche was hidden due to permissions", "unauthorized", ["demarche"])
                ],
            }
        )

    def authenticate(self, req: Request) -> Response | None:
        auth = req.headers.get("authorization", "")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else None
        if token is not None and token.startswith("token="):
            token = token[len("token=") :]
        if token != self.api_key:
            return self._unauthorized()  # DS answers 200: the token gives no access to any démarche
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        return Response.json(
            {"errors": [{"message": "Too many requests. Retry later."}], "data": None},
            429,
            {"Retry-After": str(max(1, round(retry_after)))},
        )

    def server_error(self, status: int) -> Response:
        return Response.json(
            {
                "errors": [
                    {"message": "Internal Server Error", "extensions": {"exception": {"id": "5b0d1a52-sandbox"}}}
                ],
                "data": None,
            },
            status,
        )

    def not_found(self, req: Request) -> Response:
        return Response.text("<html><body><h1>404 - Page introuvable</h1></body></html>", 404, "text/html")

    # --- the one endpoint ---------------------------------------------------------------
    def graphql(self, req: Request) -> Response:
        try:
            body = req.json()
        except ValueError as exc:
            return Response.json(
                {"errors": [{"message": f"unexpected token at '{req.body[:40]!r}': {exc}"}], "data": None}, 400
            )
        query = (body or {}).get("query") or ""
        variables = (body or {}).get("variables") or {}
        if isinstance(variables, str):
            variables = json.loads(variables or "{}")
        if "demarche" not in query or "dossiers" not in query:
            return Response.json(
                {
                    "errors": [
                        {
                            "message": "The sandbox only serves demarche(number) { dossiers } queries",
                            "extensions": {"code": "undefinedField"},
                        }
                    ],
                    "data": None,
                }
            )
        number = variables.get("demarcheNumber", variables.get("number"))
        if number is None and (m := re.search(r"demarche\s*\(\s*number\s*:\s*(\d+)", query)):
            number = int(m.group(1))
        if not isinstance(number, int) or number not in self.by_demarche:
            return Response.json({"data": None, "errors": [_error("Demarche not found", "not_found", ["demarche"])]})
        first = variables.get("first")
        if first is None and (m := re.search(r"dossiers\s*\([^)]*first\s*:\s*(\d+)", query)):
            first = int(m.group(1))
        first = min(MAX_PAGE_SIZE, int(first or MAX_PAGE_SIZE))
        if first < 0:
            return Response.json(
                {"data": None, "errors": [_error("first must be positive", "bad_request", ["demarche", "dossiers"])]}
            )
        since_raw = variables.get("updatedSince")
        try:
            since = datetime.fromisoformat(since_raw).astimezone(UTC).replace(tzinfo=None) if since_raw else None
        except ValueError:
            return Response.json(
                {
                    "data": None,
                    "errors": [
                        {
                            "message": "Variable $updatedSince of type ISO8601DateTime was provided invalid value",
                            "locations": [{"line": 1, "column": 60}],
                            "extensions": {
                                "value": since_raw,
                                "problems": [{"path": [], "explanation": "invalid ISO8601 date time"}],
                            },
                        }
                    ],
                }
            )
        # with updatedSince, in modification order (from `since` on); without, in deposit order
        keys, ordered = self._order(number, "dateDerniereModification" if since is not None else "dateDepot")
        start = 0
        after = variables.get("after")
        if after:  # '' reads as no cursor, as in graphql-ruby
            try:
                position = tuple(json.loads(base64.b64decode(after)))
            except ValueError:
                return Response.json(
                    {"data": None, "errors": [_error("Invalid cursor", "bad_request", ["demarche", "dossiers"])]}
                )
            start = bisect.bisect_right(keys, position)  # the first dossier after the cursor
        if since is not None:  # modification order: the dossiers modified before `since` come first
            start = max(start, bisect.bisect_left(keys, (since.isoformat(),)))
        page = [(keys[i], self.dossiers[ordered[i]]) for i in range(start, min(start + first, len(ordered)))]
        more = start + first < len(ordered)
        cursors = [base64.b64encode(json.dumps(list(k)).encode()).decode() for k, _ in page]
        nodes = [self._node(d) for _, d in page]
        connection = {
            "pageInfo": {
                "hasNextPage": more,
                "hasPreviousPage": bool(after),
                "startCursor": cursors[0] if cursors else None,
                "endCursor": cursors[-1] if cursors else None,
            },
            "nodes": nodes,
            "edges": [{"node": n, "cursor": c} for n, c in zip(nodes, cursors, strict=True)],
        }
        demarche = {
            "id": _typed_id("Procedure", number),
            "number": number,
            "title": TITLES[number],
            "dossiers": connection,
        }
        words = set(_WORD.findall(query))
        return Response.json({"data": {"demarche": _trim(demarche, words)}})

    def _order(self, number: int, field: str) -> tuple[list[tuple[str, int]], list[int]]:
        if (number, field) not in self._orders:
            times, numbers = self.dossiers.column(field), self.dossiers.column("number")
            keyed = sorted(((times[row].isoformat(), numbers[row]), row) for row in self.by_demarche[number])
            self._orders[number, field] = [k for k, _ in keyed], [row for _, row in keyed]
        return self._orders[number, field]

    def _node(self, d: dict) -> dict:
        node = {
            "__typename": "Dossier",
            "id": _typed_id("Dossier", d["number"]),
            "number": d["number"],
            "archived": d["archived"],
            "state": d["state"],
            **{
                k: _ts(d[k])
                for k in (
                    "dateDepot",
                    "dateDerniereModification",
                    "datePassageEnConstruction",
                    "datePassageEnInstruction",
                    "dateTraitement",
                )
            },
            "groupeInstructeur": {
                "id": _typed_id("GroupeInstructeur", d["demarche"]),
                "number": d["demarche"] % 1000,
                "label": "défaut",
            },
            "instructeurs": [{"id": _typed_id("Instructeur", 1), "email": "instruction@passculture.example"}],
        }
        address = d["address"]
        if d["kind"] == "jeune":
            u = self.world.user(d["userId"])
            node["usager"] = {"id": _typed_id("User", u.id), "email": u.email}
            node["demandeur"] = {
                "__typename": "PersonnePhysique",
                "id": _typed_id("Individual", u.id),
                "civilite": "M" if u.civility == "M." else "Mme",
                "nom": u.last_name,
                "prenom": u.first_name,
                "dateDeNaissance": u.birth_date.isoformat(),
                "email": None,
            }
            dept = address["departmentCode"]
            node["champs"] = [
                {
                    "__typename": "AddressChamp",
                    "id": "Q2hhbXAtNTk2NDUy",
                    "label": "Adresse de résidence",
                    "stringValue": address["label"],
                    "address": address,
                },
                {
                    "__typename": "DepartementChamp",
                    "id": "Q2hhbXAtNTk2NDUz",
                    "label": "Département de résidence",
                    "stringValue": dept,
                    "departement": {"code": dept, "name": None},
                },
                {
                    "__typename": "TextChamp",
                    "id": "Q2hhbXAtNTgyMjIx",
                    "label": "Code postal",
                    "stringValue": address["postalCode"],
                },
            ]
        else:
            o = self._offerers[d["offererId"]]
            node["usager"] = {"id": _typed_id("User", 900_000 + o["id"]), "email": f"contact.{o['siren']}@pro.example"}
            node["demandeur"] = {
                "__typename": "PersonneMorale",
                "id": _typed_id("Etablissement", o["id"]),
                "siret": d["siret"],
                "siegeSocial": True,
                "naf": o["_naf"],
                "libelleNaf": NAF_LABELS.get(o["_naf"]),
                "address": address,
                "entreprise": {
                    "siren": o["siren"],
                    "raisonSociale": o["name"].upper(),
                    "nomCommercial": o["name"],
                    "formeJuridique": LEGAL_FORMS.get(o["_legal_category"]),
                    "formeJuridiqueCode": o["_legal_category"],
                    "codeEffectifEntreprise": "01",
                    "siretSiegeSocial": d["siret"],
                    "dateCreation": o["_unit_created"].isoformat(),
                },
                "association": None,
            }
            node["champs"] = [
                {
                    "__typename": "TextChamp",
                    "id": "Q2hhbXAtNjAwMDAx",
                    "label": "Typologie du lieu",
                    "stringValue": o["_naf"],
                }
            ]
        if (
            self.faults.schema_drift
        ):  # a champ type the client has never seen (GraphQL drifts by new types, not new keys)
            node["champs"].append(
                {
                    "__typename": "ReferentielChamp",
                    "id": "Q2hhbXAtOTk5OTk5",
                    "label": "Référentiel",
                    "stringValue": "R-001",
                }
            )
        return node
