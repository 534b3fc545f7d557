"""Adage sandbox (Éducation nationale, behind the "Omogen" API gateway).

Contract (the Adage gateway's documentation, private): header `X-omogen-api-key`;
`GET /partenaire-culturel?dateModificationMin=YYYY-MM-DD HH:MM:SS` answers a
JSON array of cultural partners modified at or after that instant (no
pagination); `GET /stats-pass-culture/{educationalYearAdageId}` answers the
involved-student statistics of a school year as one object keyed by
`departements` / `academies` / `regions`, whose `niveaux` is an empty list when
there is no breakdown and an object keyed by level id otherwise. The API is
private: no documented rate limit. The gateway's error bodies
(`{"message", "http_status_code"}`, Gravitee style) are an assumption.
"""

from __future__ import annotations

import re

from sandbox.framework import Request, Response, VendorSandbox

from .world import build

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def _gateway(status: int, message: str) -> dict:
    return {"message": message, "http_status_code": status}


class AdageSandbox(VendorSandbox):
    name = "adage"
    rate_limit = None  # none documented

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        data = world.slice("adage", build)
        partners = data["partners"]  # a Table: sorted by its columns, not as dicts the server would hold
        modified, ids = partners.column("dateModification"), partners.column("id")
        self.partners = partners.take(sorted(range(len(partners)), key=lambda i: (modified[i], ids[i])))
        self.stats_by_year = data["stats"]

    def routes(self):
        return [
            ("GET", r"/partenaire-culturel/?", self.partenaires),
            ("GET", r"/stats-pass-culture/(?P<year_id>[^/]+)", self.stats_pass_culture),
        ]

    def authenticate(self, req: Request) -> Response | None:
        if req.headers.get("x-omogen-api-key") != self.api_key:
            return Response.json(_gateway(401, "Unauthorized"), 401)
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        wait = max(1, round(retry_after))
        return Response.json(
            _gateway(429, "Rate limit exceeded ! Try again later"),
            429,
            {"Retry-After": str(wait), "X-Rate-Limit-Remaining": "0"},
        )

    def server_error(self, status: int) -> Response:
        return Response.json(
            _gateway(status, "Internal Server Error" if status == 500 else "Service Unavailable"), status
        )

    def not_found(self, req: Request) -> Response:
        return Response.json(_gateway(404, "No context-path matches the request URI."), 404)

    def partenaires(self, req: Request) -> Response:
        since = req.arg("dateModificationMin")
        if since is not None and not _DATE.match(since):
            return Response.json(
                _gateway(400, f"dateModificationMin must be 'YYYY-MM-DD HH:MM:SS', got {since!r}"), 400
            )
        rows = [p for p in self.partners if since is None or p["dateModification"] >= since]
        if self.faults.schema_drift:
            rows = [{**p, "dateCreation": p["dateModification"][:10]} for p in rows]
        return Response.json(rows)

    def stats_pass_culture(self, req: Request, year_id: str) -> Response:
        if not year_id.isdigit():
            return Response.json(_gateway(400, f"educationalYearAdageId must be an integer, got {year_id!r}"), 400)
        year = self.stats_by_year.get(int(year_id))
        if year is None:
            return Response.json(_gateway(404, f"Aucune statistique pour l'année scolaire {year_id}"), 404)
        return Response.json(year)
