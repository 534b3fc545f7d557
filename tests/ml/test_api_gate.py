"""The shared HTTP front of the pcdata services, on a stand-in app: what it does before BentoML sees a request."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import BaseModel, Field
from starlette.testclient import TestClient

from bentos.api_gate import ApiGate, api_key_ok


class Body(BaseModel):
    n: int = Field(ge=0)


def _app(status: int = 200):
    """Echoes the body it receives with `status`, as the service behind the gate would answer."""

    async def app(scope, receive, send):
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})

    return app


def _gate(status: int = 200, **options) -> TestClient:
    api = SimpleNamespace(route="/score", input_spec=Body, output_spec=Body)
    service = SimpleNamespace(name="stand_in", apis={"score": api})
    return TestClient(ApiGate(_app(status), service=service, **options))


def test_a_valid_body_reaches_the_service_unchanged():
    r = _gate().post("/score", content=b'{"n": 3}', headers={"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 200 and r.content == b'{"n": 3}'


def test_bodies_over_the_limit_are_413_declared_or_streamed():
    client = _gate(max_body_bytes=64)
    big = b'{"n": 1, "pad": "' + b"x" * 100 + b'"}'
    assert client.post("/score", content=big, headers={"content-type": "application/json"}).status_code == 413

    def chunks():  # no content-length: counted while it streams in
        yield b'{"n": 1, "pad": "'
        for _ in range(10):
            yield b"x" * 10
        yield b'"}'

    assert client.post("/score", content=chunks(), headers={"content-type": "application/json"}).status_code == 413


def test_a_400_from_the_service_is_mapped_to_422():
    r = _gate(status=400).post("/score", json={"n": 1})
    assert r.status_code == 422


def test_other_paths_and_methods_pass_through():
    client = _gate()
    assert client.get("/score").status_code == 200  # the service answers its own 405s
    assert client.post("/elsewhere", content=b"anything").status_code == 200


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({b"authorization": b"Bearer k3y"}, True),
        ({b"authorization": b"BEARER k3y"}, True),
        ({b"x-api-key": b"k3y"}, True),
        ({b"authorization": b"k3y"}, False),
        ({b"authorization": b"Token k3y"}, False),
        ({b"authorization": b"Bearer k3y2"}, False),
        ({b"authorization": b"Bearer wrong", b"x-api-key": b"k3y"}, True),
        ({}, False),
    ],
)
def test_api_key_schemes(headers, ok):
    assert api_key_ok(headers, "k3y") is ok
