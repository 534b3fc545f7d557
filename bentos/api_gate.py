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
import sys
import time
from typing import Any

from pydantic import ValidationError

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


def api_key_ok(headers: dict[bytes, bytes], expected: str) -> bool:
    """`Authorization: Bearer <key>` (scheme case-insensitive, RFC 7235) or `X-API-Key: <key>`, constant time."""
    want = expected.encode()
    candidates = []
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


def validation_detail(exc: ValidationError) -> list[dict]:
    return [
        {"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


class ApiGate:
    def __init__(self, app, *, service, api_key_env: str | None = None, max_body_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.service = service
        self.api_key_env = api_key_env
        self.max_body_bytes = max_body_bytes
        self.routes = {api.route: api for api in service.apis.values()}
        self.log = request_logger(f"pcdata.{service.name}")
        self._openapi: dict[bool, dict] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/docs.json" and scope["method"] in ("GET", "HEAD"):
            return await _respond(send, 200, self.openapi())
        api = self.routes.get(scope["path"])
        if api is None or scope["method"] != "POST":
            return await self.app(scope, receive, send)

        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])

        async def refuse(status: int, body: dict, errors: list[dict] | None = None, extra_headers=()) -> None:
            await _respond(send, status, body, extra_headers)
            self._log(scope, status, started, errors)

        expected = self.api_key()
        if expected and not api_key_ok(headers, expected):
            return await refuse(
                401,
                {"error": "missing or invalid API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"},
                extra_headers=[(b"www-authenticate", b'Bearer realm="pcdata"')],
            )
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if media_type != JSON.encode():
            return await refuse(415, {"error": f"send the body as {JSON}"})
        declared = headers.get(b"content-length", b"")
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
            detail = [{"type": "missing", "loc": [], "msg": "the request body is empty: send a JSON object"}]
            return await refuse(422, {"error": "empty request body", "detail": detail}, detail)
        try:
            api.input_spec.model_validate_json(body)
        except ValidationError as exc:
            detail = validation_detail(exc)
            return await refuse(422, {"error": f"{len(detail)} invalid field(s)", "detail": detail}, detail)

        replayed = False

        async def receive_body():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = {"code": 500}

        async def send_mapped(message):
            if message["type"] == "http.response.start":
                if message["status"] == 400:  # BentoML's own input check, should ours ever let a case through
                    message = {**message, "status": 422}
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive_body, send_mapped)
        finally:
            self._log(scope, status["code"], started)

    def _log(self, scope, status: int, started: float, errors: list[dict] | None = None) -> None:
        line: dict[str, Any] = {
            "event": "request",
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        if errors:
            line["errors"] = [".".join(map(str, e["loc"])) + f": {e['type']}" for e in errors[:10]]
        self.log.info(json.dumps(line))

    def api_key(self) -> str | None:
        """The key the service requires, or None; read per request, as the environment may be set after start-up."""
        return os.environ.get(self.api_key_env) or None if self.api_key_env else None

    def openapi(self) -> dict:
        auth = self.api_key() is not None  # documents the security only when it is enforced
        if auth not in self._openapi:
            self._openapi[auth] = openapi_document(self.service, auth=auth)
        return self._openapi[auth]


def openapi_document(service, auth: bool) -> dict:
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
