"""The HTTP front of every pcdata BentoML service: auth, strict input, honest OpenAPI, one log line per request.

`ApiGate` is an ASGI middleware added with
`Service.add_asgi_middleware(ApiGate, service=Service, api_key_env="..._API_KEY")`.
On the service's own API routes it:

- checks the API key when the environment variable names one: `Authorization: Bearer <key>`
  or `X-API-Key: <key>`, compared in constant time; anything else is a 401 (health and
  docs stay open);
- accepts only `application/json` (415 otherwise), bodies up to `max_body_bytes` (413),
  and validates the body with the API's own input model before BentoML sees it: an
  empty or invalid body is a 422 with pydantic's field errors (never the input values),
  the status the consumers treat as "do not retry";
- writes one JSON line per request (method, path, status, latency; for a 422 the
  failing fields), and never a traceback for a client error;
- guards, the same way, the routes of an ASGI app mounted on the service (`GatedRoute`:
  BentoML's own APIs are POST-only with literal paths, so REST paths such as
  `GET /similar_offers/{offer_id}` are a Starlette app): their query string and JSON body are
  validated with their models, and a field error names where it is (`["query", ...]` or
  `["body", ...]`, as FastAPI consumers read it); `query_key` also accepts the key as a query
  parameter (the Recommendation API's `token`), compared in constant time like the headers;
- serves `/docs.json` as an OpenAPI 3.1 document built from the same pydantic models,
  so that nullable fields, bounds, batch caps and the 401/413/415/422 answers are
  documented exactly as they behave.

BentoML itself answers input errors with 400 and logs a full traceback for each;
validating here first means that path is only reached if the two disagree, and then
the 400 is still mapped to 422 and the traceback dropped.
"""

from __future__ import annotations

import copy
import hmac
import json
import logging
import os
import re
import sys
import time
import typing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError

JSON = "application/json"
MAX_BODY_BYTES = 16 * 1024 * 1024
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string"},
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "loc", "msg"],
                "properties": {
                    "type": {"type": "string"},
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}


def request_logger(name: str) -> logging.Logger:
    """A logger printing bare message lines (BentoML's formatter drops `extra` fields)."""
    log = logging.getLogger(name)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


class _NoClientErrorTraceback(logging.Filter):
    """Drops BentoML's traceback for an input validation error: the gate has logged its one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ValidationError))


_http_app_log = logging.getLogger("bentoml._internal.server.http_app")
if not any(isinstance(f, _NoClientErrorTraceback) for f in _http_app_log.filters):
    _http_app_log.addFilter(_NoClientErrorTraceback())


def api_key_ok(headers: dict[bytes, bytes], expected: str, query_key: bytes | None = None) -> bool:
    """`Authorization: Bearer <key>` (scheme case-insensitive, RFC 7235) or `X-API-Key: <key>`, constant time;
    `query_key`: the value of the key's query parameter, where a service accepts one."""
    want = expected.encode()
    candidates = [query_key] if query_key is not None else []
    auth = headers.get(b"authorization")
    if auth is not None:
        scheme, _, token = auth.strip().partition(b" ")
        if scheme.lower() == b"bearer":
            candidates.append(token.strip())
    if b"x-api-key" in headers:
        candidates.append(headers[b"x-api-key"].strip())
    ok = False
    for given in candidates:  # no early exit: the time taken does not tell which header matched
        ok |= hmac.compare_digest(given, want)
    return ok


def validation_detail(exc: ValidationError, where: str | None = None) -> list[dict]:
    """pydantic's errors without the values sent; `where` ('query', 'body') prefixes each location."""
    prefix = [where] if where else []
    return [
        {"type": e["type"], "loc": [*prefix, *e["loc"]], "msg": e["msg"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def invalid(detail: list[dict]) -> dict:
    """The body of every 422: a one-line summary and the field errors."""
    return {"error": f"{len(detail)} invalid field(s)", "detail": detail}


@dataclass(frozen=True)
class GatedRoute:
    """A route of an ASGI app mounted on the service, checked by the gate before the app sees it."""

    method: str
    path: str  # a Starlette template: '/similar_offers/{offer_id}'
    query: type[BaseModel] | None = None  # list fields read repeated keys, with or without a '[]' suffix
    body: type[BaseModel] | None = None  # None: the route reads no body
    body_optional: bool = False  # an empty body (no content type needed) stands for `{}`
    response: type[BaseModel] | None = None  # the 200's schema, for /docs.json
    summary: str = ""
    pattern: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", re.compile(re.sub(r"\{[^}/]+\}", "[^/]+", self.path)))

    def query_values(self, query_string: bytes) -> dict[str, Any]:
        """The query string as the query model reads it (the last value of a repeated scalar key)."""
        if self.query is None:
            return {}
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        values: dict[str, Any] = {}
        for name, info in self.query.model_fields.items():
            if _is_list(info.annotation):
                found = [v for k, v in pairs if k in (name, f"{name}[]")]
            else:
                found = [v for k, v in pairs if k == name][-1:]
            if found:
                values[name] = found if _is_list(info.annotation) else found[0]
        return values


def _is_list(annotation) -> bool:
    return typing.get_origin(annotation) is list or any(_is_list(a) for a in typing.get_args(annotation))


class ApiGate:
    def __init__(
        self,
        app,
        *,
        service,
        api_key_env: str | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        routes: tuple[GatedRoute, ...] = (),
        query_key: str | None = None,
    ):
        self.app = app
        self.service = service
        self.api_key_env = api_key_env
        self.max_body_bytes = max_body_bytes
        self.routes = {api.route: api for api in service.apis.values()}
        self.gated = tuple(routes)
        self.query_key = query_key
        self.log = request_logger(f"pcdata.{service.name}")
        self._openapi: dict[bool, dict] = {}

    def _gated(self, scope) -> GatedRoute | None:
        for route in self.gated:
            if route.method == scope["method"] and route.pattern.fullmatch(scope["path"]):
                return route
        return None

    def _query_key(self, scope) -> bytes | None:
        if self.query_key is None:
            return None
        found = [v for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1")) if k == self.query_key]
        return found[-1].encode("latin-1") if found else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/docs.json" and scope["method"] in ("GET", "HEAD"):
            return await _respond(send, 200, self.openapi())
        api = self.routes.get(scope["path"]) if scope["method"] == "POST" else None
        route = self._gated(scope) if api is None else None
        if api is None and route is None:
            return await self.app(scope, receive, send)

        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])

        async def refuse(status: int, body: dict, errors: list[dict] | None = None, extra_headers=()) -> None:
            await _respond(send, status, body, extra_headers)
            self._log(scope, status, started, errors)

        async def unprocessable(detail: list[dict]) -> None:
            await refuse(422, invalid(detail), detail)

        expected = self.api_key()
        if expected and not api_key_ok(headers, expected, self._query_key(scope)):
            return await refuse(
                401,
                {"error": "missing or invalid API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"},
                extra_headers=[(b"www-authenticate", b'Bearer realm="pcdata"')],
            )
        if route is not None and route.query is not None:
            try:
                route.query.model_validate(route.query_values(scope.get("query_string", b"")))
            except ValidationError as exc:
                return await unprocessable(validation_detail(exc, "query"))
        body_model = api.input_spec if api is not None else route.body  # type: ignore[union-attr]
        if body_model is None:  # a route without a body (GET): nothing more to check
            return await self._forward(scope, receive, send, started)
        optional = route is not None and route.body_optional
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        declared = headers.get(b"content-length", b"")
        bodyless = declared in (b"", b"0") and b"transfer-encoding" not in headers
        if media_type != JSON.encode() and not (optional and bodyless):
            return await refuse(415, {"error": f"send the body as {JSON}"})
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return await refuse(413, {"error": f"body larger than {self.max_body_bytes} bytes"})
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return await refuse(413, {"error": f"body larger than {self.max_body_bytes} bytes"})
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if not body.strip():
            if not optional:
                detail = [{"type": "missing", "loc": [], "msg": "the request body is empty: send a JSON object"}]
                return await refuse(422, {"error": "empty request body", "detail": detail}, detail)
        else:
            if media_type != JSON.encode():
                return await refuse(415, {"error": f"send the body as {JSON}"})
            try:
                body_model.model_validate_json(body)
            except ValidationError as exc:
                return await unprocessable(validation_detail(exc, "body" if route is not None else None))

        replayed = False

        async def receive_body():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self._forward(scope, receive_body, send, started)

    async def _forward(self, scope, receive, send, started: float) -> None:
        """Hands the request to the service; logs its status (and the field errors of a 422 it answers itself)."""
        status = {"code": 500}
        answered_422: list[bytes] = []

        async def send_mapped(message):
            if message["type"] == "http.response.start":
                if message["status"] == 400:  # BentoML's own input check, should ours ever let a case through
                    message = {**message, "status": 422}
                status["code"] = message["status"]
            elif message["type"] == "http.response.body" and status["code"] == 422:
                answered_422.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_mapped)
        finally:
            errors = None
            if answered_422:
                try:
                    errors = json.loads(b"".join(answered_422)).get("detail")
                except (ValueError, AttributeError):
                    errors = None
            self._log(scope, status["code"], started, errors if isinstance(errors, list) else None)

    def _log(self, scope, status: int, started: float, errors: list[dict] | None = None) -> None:
        line: dict[str, Any] = {
            "event": "request",
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        if errors:
            line["errors"] = [
                ".".join(map(str, e.get("loc", []))) + f": {e.get('type')}" for e in errors[:10] if isinstance(e, dict)
            ]
        self.log.info(json.dumps(line))

    def api_key(self) -> str | None:
        """The key the service requires, or None; read per request, as the environment may be set after start-up."""
        return os.environ.get(self.api_key_env) or None if self.api_key_env else None

    def openapi(self) -> dict:
        auth = self.api_key() is not None  # documents the security only when it is enforced
        if auth not in self._openapi:
            self._openapi[auth] = openapi_document(self.service, auth=auth, routes=self.gated, query_key=self.query_key)
        return self._openapi[auth]


def openapi_document(service, auth: bool, routes: tuple[GatedRoute, ...] = (), query_key: str | None = None) -> dict:
    """BentoML's document, with each API's operation rebuilt from its pydantic models (OpenAPI 3.1)."""
    spec = copy.deepcopy(service.openapi_spec.asdict())
    spec["openapi"] = "3.1.0"
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    ref = "#/components/schemas/{model}"
    schemas.update(Error=ERROR_SCHEMA, ValidationError=VALIDATION_ERROR_SCHEMA)
    if auth:
        spec["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }

    def lift(schema: dict) -> dict:
        schemas.update(schema.pop("$defs", {}))
        return schema

    def answer(description: str, schema_name: str) -> dict:
        return {
            "description": description,
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
        }

    for api in service.apis.values():
        operation = spec["paths"][api.route]["post"]
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": lift(api.input_spec.model_json_schema(ref_template=ref))}},
        }
        ok = lift(api.output_spec.model_json_schema(ref_template=ref, mode="serialization"))
        operation["responses"] = {
            "200": {"description": "Scored", "content": {JSON: {"schema": ok}}},
            "413": answer("Body too large", "Error"),
            "415": answer("Body is not application/json", "Error"),
            "422": answer("Empty or invalid body: the field errors, without the values sent", "ValidationError"),
            "500": answer("Unexpected server error", "Error"),
            "503": answer("Server busy (max concurrency reached)", "Error"),
        }
        if auth:
            operation["security"] = [{"bearer": []}, {"apiKey": []}]
            operation["responses"]["401"] = answer("Missing or invalid API key", "Error")
    if auth and query_key:
        spec["components"]["securitySchemes"]["queryKey"] = {"type": "apiKey", "in": "query", "name": query_key}
    for route in routes:  # the mounted app's routes, documented from the same models the gate checks
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{([^}/]+)\}", route.path)
        ]
        if route.query is not None:
            query = lift(route.query.model_json_schema(ref_template=ref))
            for name, schema in query.get("properties", {}).items():
                parameter = {
                    "name": name,
                    "in": "query",
                    "required": name in query.get("required", []),
                    "schema": schema,
                }
                if _is_list(route.query.model_fields[name].annotation):  # repeated keys: ?categories=A&categories=B
                    parameter |= {"style": "form", "explode": True}
                parameters.append(parameter)
        operation = {"summary": route.summary, "parameters": parameters}
        if route.body is not None:
            operation["requestBody"] = {
                "required": not route.body_optional,
                "content": {JSON: {"schema": lift(route.body.model_json_schema(ref_template=ref, by_alias=True))}},
            }
        ok: dict = {"description": "OK"}
        if route.response is not None:
            schema = lift(route.response.model_json_schema(ref_template=ref, mode="serialization"))
            ok["content"] = {JSON: {"schema": schema}}
        operation["responses"] = {
            "200": ok,
            "422": answer("Invalid query or body: the field errors, without the values sent", "ValidationError"),
            "500": answer("Unexpected server error", "Error"),
        }
        if route.body is not None:
            operation["responses"] |= {
                "413": answer("Body too large", "Error"),
                "415": answer("Body is not application/json", "Error"),
            }
        if auth:
            operation["security"] = [{"bearer": []}, {"apiKey": []}] + ([{"queryKey": []}] if query_key else [])
            operation["responses"]["401"] = answer("Missing or invalid API key", "Error")
        spec.setdefault("paths", {}).setdefault(route.path, {})[route.method.lower()] = operation
    return spec


async def _respond(send, status: int, body: dict, extra_headers=()) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", JSON.encode()),
                (b"content-length", str(len(payload)).encode()),
                *extra_headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
