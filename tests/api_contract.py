"""Checks every pcdata HTTP service must pass, written once for the Compliance and Recommendation APIs.

Each takes a Starlette `TestClient` on the service's ASGI app (one app per process:
BentoML's Prometheus registry refuses a second), the route of one POST API and a
valid body for it. `fuzz_against_openapi` runs schemathesis on the service's own
`/docs.json` in process: bounded, derandomized examples, every check schemathesis
has (no 5xx, documented status codes, content types and response schemas, invalid
data rejected, valid data accepted). `schemathesis_cli` runs the `st` command on a
served instance, as an outside tester would: coverage and fuzzing phases, all checks
(unsupported methods, auth, headers included).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

BAD_BODIES = {
    "empty body": (b"", "application/json", 422),
    "whitespace body": (b"  \n", "application/json", 422),
    "invalid JSON": (b"{", "application/json", 422),
    "JSON null": (b"null", "application/json", 422),
    "JSON array": (b"[]", "application/json", 422),
    "multipart without boundary": (b"--x\r\n\r\n", "multipart/form-data", 415),
    "form": (b"a=1", "application/x-www-form-urlencoded", 415),
    "text": (b"{}", "text/plain", 415),
    "no content type": (b"{}", None, 415),
}


def assert_rejects_bad_bodies(client, route: str) -> None:
    """Never a 5xx: an unparsable body is a 422 with field errors, a non-JSON one a 415."""
    for name, (body, content_type, status) in BAD_BODIES.items():
        headers = {"content-type": content_type} if content_type else {}
        r = client.post(route, content=body, headers=headers)
        assert r.status_code == status, (name, r.status_code, r.text[:300])
        assert "error" in r.json(), name
        if status == 422:
            assert isinstance(r.json()["detail"], list) and r.json()["detail"], name


def assert_field_errors(client, route: str, body: dict, loc: list) -> dict:
    """`body` answers 422 naming `loc` among its field errors, without echoing the values sent."""
    r = client.post(route, json=body)
    assert r.status_code == 422, (body, r.status_code, r.text[:300])
    detail = r.json()["detail"]
    assert loc in [d["loc"] for d in detail], detail
    assert all("input" not in d for d in detail)
    return r.json()


def assert_non_finite_numbers_rejected(client, route: str, prefix: str, field: str) -> None:
    """Infinity, NaN and overflowing literals (1e400 parses to inf) are 422 on `field`."""
    for literal in ("Infinity", "-Infinity", "NaN", "1e400", "-1e400"):
        body = prefix.replace("@", f'"{field}": {literal}').encode()
        r = client.post(route, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, (literal, r.status_code, r.text[:300])
        assert any(d["loc"][-1] == field for d in r.json()["detail"]), (literal, r.json())


def assert_api_key_checks(client, route: str, body: dict, env_var: str, monkeypatch) -> None:
    """With `env_var` set: only `Authorization: Bearer <key>` or `X-API-Key: <key>` pass; health stays open."""
    key = "s3cret-Key"
    monkeypatch.setenv(env_var, key)
    refused = [
        {},
        {"Authorization": key},  # no scheme
        {"Authorization": f"Basic {key}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {key}x"},
        {"Authorization": f"Bearer {key[:-1]}"},
        {"X-API-Key": "wrong"},
        {"X-API-Key": ""},
    ]
    for headers in refused:
        r = client.post(route, json=body, headers=headers)
        assert r.status_code == 401, (headers, r.status_code)
        assert r.headers["www-authenticate"].startswith("Bearer")
    for headers in ({"Authorization": f"Bearer {key}"}, {"Authorization": f"bearer {key}"}, {"X-API-Key": key}):
        assert client.post(route, json=body, headers=headers).status_code == 200, headers
    assert client.get("/livez").status_code == 200
    doc = client.get("/docs.json").json()
    assert "401" in doc["paths"][route]["post"]["responses"] and doc["components"]["securitySchemes"]
    monkeypatch.delenv(env_var)
    assert client.post(route, json=body).status_code == 200
    assert "401" not in client.get("/docs.json").json()["paths"][route]["post"]["responses"]


def assert_client_errors_log_one_line(client, route: str, caplog, logger: str) -> None:
    """A 422 writes exactly one line (the request line, naming the fields), and no traceback anywhere."""
    caplog.set_level(logging.INFO)
    service_log = logging.getLogger(logger)
    service_log.addHandler(caplog.handler)  # the service's request logger does not propagate
    try:
        caplog.clear()
        assert client.post(route, content=b"{", headers={"content-type": "application/json"}).status_code == 422
        assert client.post(route, content=b"", headers={"content-type": "application/json"}).status_code == 422
    finally:
        service_log.removeHandler(caplog.handler)
    lines = [r for r in caplog.records if r.name == logger]
    assert len(lines) == 2, [r.getMessage() for r in caplog.records]
    for record in lines:
        line = json.loads(record.getMessage())
        assert line["status"] == 422 and line["path"] == route and line["errors"]
        assert "\n" not in record.getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def fuzz_against_openapi(client, routes: list[str], max_examples: int = 15) -> list[str]:
    """schemathesis, positive and negative examples for each POST route; returns the failures found."""
    pytest.importorskip("schemathesis")
    import schemathesis
    from schemathesis.generation.modes import GenerationMode

    schema = schemathesis.openapi.from_dict(client.get("/docs.json").json())
    failures: list[str] = []
    for route in routes:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(client, schema[route]["POST"], mode, max_examples, failures)
    return failures


def _fuzz(client, operation, mode, max_examples: int, failures: list[str]) -> None:
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        sent = case.as_transport_kwargs(base_url="http://testserver")
        response = client.request(
            sent["method"],
            sent["url"],
            headers=sent.get("headers"),
            params=sent.get("params"),
            content=sent.get("data"),
            json=sent.get("json"),
        )
        try:
            case.validate_response(response)
        except Exception as exc:  # every failing example is collected, not just the first
            failures.append(f"{mode.value} {operation.label}: {str(exc)[:800]}")

    check()


def schemathesis_cli(url: str, workdir: Path, include_path_regex: str, max_examples: int = 25, headers=()):
    """`st run` on `url`'s own /docs.json, every check, coverage and fuzzing, fixed seed; returns the process."""
    st = Path(sys.executable).with_name("st")
    if not st.exists():
        pytest.skip("schemathesis (a dev dependency) is not installed")
    command = [
        str(st),
        "run",
        f"{url}/docs.json",
        "--checks",
        "all",
        "--include-path-regex",
        include_path_regex,
        "--max-examples",
        str(max_examples),
        "--seed",
        "1",
        "--workers",
        "1",
        "--no-color",
        *[arg for header in headers for arg in ("-H", header)],
    ]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=300)
