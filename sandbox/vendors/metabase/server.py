"""Metabase REST API sandbox: the governance endpoints the application database holds in no usable form.

Contract (Metabase API docs):
- `POST /api/session` `{username, password}` -> `{"id": "<session token>"}`; a wrong
  password is a 401 `{"errors": {"password": "did not match stored password"}}`,
  a missing field a 400 with the same `errors` shape;
- then every call carries `X-Metabase-Session: <token>` (or an API key in
  `x-api-key`, Metabase >= 0.49); without a valid one: 401, body `Unauthenticated`;
- `GET /api/session/properties` is public (site settings, version); the
  sandbox adds the non-standard key `sandbox-world` (the seed and scale of the
  world it serves), so that a sandbox run can write the matching application DB;
- `GET /api/collection/graph` -> `{revision, groups: {group_id: {collection_id|'root': 'read'|'write'|'none'}}}`
  (personal collections are not in the graph);
- `GET /api/permissions/group` -> `[{id, name, member_count, magic_group_type}]`;
- `GET /api/permissions/membership` -> `{user_id: [{membership_id, group_id, user_id, is_group_manager}]}`;
- `GET /api/database` -> `{data: [...], total}` (connection `details` come redacted);
- `GET /api/user/current`.
Metabase documents no API rate limit (logins are throttled after failures);
429s only come from fault injection (a proxy in front of it), as plain text.
"""

from __future__ import annotations

import uuid

from sandbox.framework import Request, Response, VendorSandbox

from .world import BOT_EMAIL, build

PUBLIC = {("POST", "/api/session"), ("GET", "/api/session/properties"), ("GET", "/api/health")}
MAGIC = {1: "all-internal-users", 2: "admin"}


def _iso(t) -> str:
    return t.isoformat(timespec="milliseconds") + "Z"


class MetabaseSandbox(VendorSandbox):
    name = "metabase"
    rate_limit = None  # none documented

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        self.mb = world.slice("metabase", build)
        self.sessions: set[str] = set()
        self.graph_revision = 7

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        # the data bot's account; the sandbox key doubles as its password
        return {"base_url": base_url, "username": BOT_EMAIL, "password": api_key}

    def routes(self):
        return [
            ("POST", r"/api/session/?", self.login),
            ("GET", r"/api/session/properties", self.properties),
            ("GET", r"/api/health", lambda req: Response.json({"status": "ok"})),
            ("GET", r"/api/user/current", self.current_user),
            ("GET", r"/api/collection/graph", self.collection_graph),
            ("GET", r"/api/permissions/group/?", self.groups),
            ("GET", r"/api/permissions/membership/?", self.memberships),
            ("GET", r"/api/database/?", self.databases),
        ]

    # --- contract shapes ---------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        if (req.method, req.path.rstrip("/")) in PUBLIC:
            return None
        token = req.headers.get("x-metabase-session")
        if (token and token in self.sessions) or req.headers.get("x-api-key") == self.api_key:
            return None
        return Response.text("Unauthenticated", 401)

    def too_many_requests(self, retry_after: float) -> Response:
        return Response.text("Too Many Requests", 429, headers={"Retry-After": str(max(1, round(retry_after)))})

    def server_error(self, status: int) -> Response:
        if status == 500:
            return Response.json({"message": "An error occurred.", "via": []}, 500)
        return Response.text("<html><body><h1>503 Service Unavailable</h1></body></html>", status, "text/html")

    def not_found(self, req: Request) -> Response:
        return Response.text("API endpoint does not exist.", 404)

    # --- handlers ------------------------------------------------------------------------
    def login(self, req: Request) -> Response:
        try:
            body = req.json() or {}
        except ValueError:
            body = {}
        errors = {k: "value must be a non-blank string." for k in ("username", "password") if not body.get(k)}
        if errors:
            return Response.json({"errors": errors}, 400)
        if body["username"] != BOT_EMAIL or body["password"] != self.api_key:
            return Response.json({"errors": {"password": "did not match stored password"}}, 401)
        token = str(uuid.UUID(int=self.rng.getrandbits(128)))
        with self._lock:
            self.sessions.add(token)
        return Response.json({"id": token})

    def properties(self, req: Request) -> Response:
        return Response.json(
            {
                "version": {"tag": "v0.56.5", "date": "2025-09-02", "branch": "release-x.56.x", "hash": "5f0c2ad"},
                "site-name": "pass Culture",
                "site-locale": "fr",
                "has-user-setup": True,
                "engines": {},
            }
        )

    def current_user(self, req: Request) -> Response:
        bot = self.mb.users[0]
        return Response.json({"id": bot["id"], "email": bot["email"], "is_superuser": True, "common_name": "Data Bot"})

    def collection_graph(self, req: Request) -> Response:
        groups = {str(g): dict(perms) for g, perms in self.mb.collection_graph.items()}
        if self.faults.schema_drift:
            return Response.json({"revision": self.graph_revision, "groups": groups, "namespace": None})
        return Response.json({"revision": self.graph_revision, "groups": groups})

    def groups(self, req: Request) -> Response:
        counts: dict[int, int] = {}
        for m in self.mb.memberships:
            counts[m["group_id"]] = counts.get(m["group_id"], 0) + 1
        return Response.json(
            [
                {
                    "id": g["id"],
                    "name": g["name"],
                    "member_count": counts.get(g["id"], 0),
                    "magic_group_type": MAGIC.get(g["id"]),
                    "entity_id": f"group{g['id']:016d}",
                }
                for g in self.mb.groups
            ]
        )

    def memberships(self, req: Request) -> Response:
        out: dict[str, list] = {}
        for m in self.mb.memberships:
            out.setdefault(str(m["user_id"]), []).append(dict(m))
        return Response.json(out)

    def databases(self, req: Request) -> Response:
        data = [
            {
                **d,
                "created_at": _iso(d["created_at"]),
                "updated_at": _iso(d["updated_at"]),
                "is_full_sync": True,
                "is_on_demand": False,
                "timezone": "Europe/Paris",
                "native_permissions": "write",
                "features": ["basic-aggregations", "native-parameters"],
                "details": {"project-id": "passculture-data-prod", "service-account-json": "**MetabasePass**"},
            }
            for d in self.mb.databases
        ]
        return Response.json({"data": data, "total": len(data)})
