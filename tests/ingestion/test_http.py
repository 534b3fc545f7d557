"""The shared HTTP layer (ingestion/sources/http.py) against a scripted local server:
the retry budget, HTTP-200 errors as a retry condition, vendor wait headers, one rate limiter, scrubbing."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

from ingestion.sources.http import Problem, RateLimiter, VendorHttp, VendorHTTPError


class Script:
    """Answers queued per test: (status, body, headers); the last one repeats. Records every request."""

    def __init__(self):
        self.answers: list[tuple[int, object, dict]] = []
        self.seen: list[str] = []

    def then(self, status: int, body: object = None, **headers) -> Script:
        self.answers.append((status, body, headers))
        return self

    def next(self) -> tuple[int, object, dict]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def server():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            script.seen.append(self.path)
            status, body, headers = script.next()
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k.replace("_", "-"), v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield script
    httpd.shutdown()


def fast(server, **kwargs) -> VendorHttp:
    return VendorHttp("acme", base_url=server.url, backoff=0.01, **kwargs)


def test_one_call_costs_at_most_max_attempts_requests_whatever_fails(server):
    server.then(503, {"error": "down"})
    with pytest.raises(VendorHTTPError) as err:
        fast(server, max_attempts=3).get("/things")
    assert len(server.seen) == 3
    assert "acme: HTTP 503 on GET /things" in str(err.value) and "after 3 attempts" in str(err.value)


def test_a_transient_failure_is_recovered_within_the_budget(server):
    server.then(429, {}).then(b"{cut").then(200, {"ok": 1})
    assert fast(server).get("/things").json() == {"ok": 1}
    assert len(server.seen) == 3  # a 429 and an unreadable page cost one attempt each, no more


def test_a_client_error_is_not_retried_and_says_what_to_check(server):
    server.then(401, {"message": "bad key"})
    with pytest.raises(VendorHTTPError) as err:
        fast(server).get("/things")
    assert len(server.seen) == 1
    assert "acme: HTTP 401 on GET /things" in str(err.value) and "bad key" in str(err.value)
    assert "credentials in sources.acme" in str(err.value)


def test_http_200_errors_are_a_retry_condition(server):
    def check(response):
        body = response.json()
        if body["code"] == 40100:
            return Problem(f"code 40100: {body['message']}", retry=True)
        if body["code"] != 0:
            return Problem(f"code {body['code']}: {body['message']}")
        return None

    server.then(200, {"code": 40100, "message": "slow down"}).then(200, {"code": 0, "data": 1})
    assert fast(server, check=check).get("/v").json()["data"] == 1
    assert len(server.seen) == 2
    server.seen.clear()
    server.answers = [(200, {"code": 40002, "message": "bad max_count"}, {})]
    with pytest.raises(VendorHTTPError) as err:
        fast(server, check=check).get("/v")
    assert len(server.seen) == 1 and "code 40002: bad max_count" in str(err.value)
    server.seen.clear()
    server.answers = [(200, {"code": 40100, "message": "slow down"}, {})]
    with pytest.raises(VendorHTTPError) as err:
        fast(server, check=check, max_attempts=4).get("/v")
    assert len(server.seen) == 4 and "still failing after 4 attempts" in str(err.value)


def test_the_vendor_wait_header_is_honoured(server):
    server.then(429, {}, X_Reset="1").then(200, {"ok": 1})
    started = time.monotonic()
    fast(server, wait_headers=("X-Reset",)).get("/w")
    assert time.monotonic() - started >= 1.0  # not the 0.01 s back-off


def test_a_default_wait_for_a_429_without_header(server):
    server.then(429, {}).then(200, {"ok": 1})
    started = time.monotonic()
    fast(server, default_wait=1).get("/w")
    assert time.monotonic() - started >= 1.0


def test_a_problem_may_carry_its_own_wait(server):
    server.then(400, {"error": {"code": 4}}).then(200, {"ok": 1})

    def check(response):
        if response.status_code == 400:
            return Problem("throttled", retry=True, wait=1)
        return None

    started = time.monotonic()
    fast(server, check=check).get("/w")
    assert time.monotonic() - started >= 1.0 and len(server.seen) == 2


def test_ok_statuses_are_answers(server):
    server.then(404, {"error": "no report yet"})
    assert fast(server).get("/r", ok=(404,)).status_code == 404
    assert len(server.seen) == 1


def test_secrets_never_appear_in_errors(server):
    server.then(401, {"message": "key LIVEKEYs3cret refused"})
    http = fast(server, secrets=["LIVEKEYs3cret", "TOKENs3cret"])
    with pytest.raises(VendorHTTPError) as err:
        http.get("/1.1/LIVEKEYs3cret/campaigns", params={"access_token": "TOKENs3cret"})
    assert "s3cret" not in str(err.value) and "/1.1/***/campaigns" in str(err.value)
    # a dropped connection's own message holds the whole URL: only the type is kept
    dead = VendorHttp("acme", base_url="http://127.0.0.1:9", backoff=0.01, max_attempts=2, secrets=["TOKENs3cret"])
    with pytest.raises(VendorHTTPError) as err:
        dead.get("/x", params={"access_token": "TOKENs3cret"})
    assert "ConnectionError" in str(err.value) and "s3cret" not in str(err.value)


def test_pages_come_through_dlt_paginators_with_the_same_rules(server):
    server.then(200, {"items": [1, 2], "total": 5}).then(503, {}).then(200, {"items": [3, 4], "total": 5})
    server.then(b"{cut").then(200, {"items": [5], "total": 5})
    http = fast(server, paginator=OffsetPaginator(limit=2, total_path="total"))
    assert [list(page) for page in http.paginate("/items", data_selector="items")] == [[1, 2], [3, 4], [5]]
    assert len(server.seen) == 5


def test_a_page_body_is_parsed_once_whoever_reads_it(server):
    server.then(200, {"items": [{"a": 1}], "total": 1})
    http = fast(server, paginator=OffsetPaginator(limit=2, total_path="total"))
    page = next(iter(http.paginate("/items", data_selector="items")))
    # the check, the paginator, the data selector and a resource's sideload reads share one parse
    assert page.response.json() is page.response.json()
    assert page[0] is page.response.json()["items"][0]


def test_one_rate_limiter_spaces_evenly_or_keeps_a_budget():
    even = RateLimiter(20, 1.0)  # one call every 50 ms
    started = time.monotonic()
    for _ in range(5):
        even.wait()
    assert time.monotonic() - started >= 0.19
    budget = RateLimiter(5, 0.5, spread=False)  # five at once, then the window must slide
    started = time.monotonic()
    for _ in range(5):
        budget.wait()
    assert time.monotonic() - started < 0.05
    budget.wait()
    assert time.monotonic() - started >= 0.49


def test_the_limiter_paces_retries_too(server):
    server.then(503, {}).then(503, {}).then(200, {"ok": 1})
    started = time.monotonic()
    fast(server, limiter=RateLimiter(5, 1.0)).get("/p")
    assert time.monotonic() - started >= 0.39  # three requests, 200 ms apart
