"""HTTP for every vendor source: dlt's retrying session, pacing, and clear errors.

dlt's requests helper already retries 429, 5xx, dropped connections and
timeouts with exponential back-off and honours `Retry-After`. On top of it:
- `RateLimiter` spaces calls to stay under the vendor's documented limit, so we do not
  count on 429s to slow us down;
- `fetch` re-asks a page that arrives unreadable (cut JSON or CSV) a few
  times, then fails with a message that names the vendor and the call;
- `VendorHTTPError` turns a final 4xx/5xx into one readable line with the
  vendor's own error message, and never prints credentials.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from dlt.sources.helpers.requests import Client, Response, Session

log = logging.getLogger("pcdata.ingestion")
T = TypeVar("T")


class VendorHTTPError(RuntimeError):
    def __init__(self, vendor: str, response: Response, hint: str = ""):
        self.status_code = response.status_code
        path = urlsplit(response.request.url).path if response.request is not None else "?"
        detail = response.text[:300].replace("\n", " ")
        if response.status_code in (401, 403):
            hint = (
                hint
                or f"check the credentials in sources.{vendor} (dlt secrets or SOURCES__{vendor.upper()}__* env vars)"
            )
        super().__init__(
            f"{vendor}: HTTP {response.status_code} on {response.request.method} {path}: {detail}"
            + (f" ({hint})" if hint else "")
        )


class MalformedPage(ValueError):
    """A 200 answer whose body cannot be read as the vendor's format."""


class RateLimiter:
    """Space calls evenly to stay under `calls` per `period` seconds (thread-safe).

    Even spacing rather than a sliding window: a burst of a minute's quota in
    one second is what gateways with shorter internal windows reject.
    """

    def __init__(self, calls: int, period: float):
        self.interval = period / calls
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


def session(
    timeout: float = 60,
    max_attempts: int = 6,
    backoff: float = 0.5,
    max_delay: float = 120,
    wait_header: str | None = None,
    default_wait: float | None = None,
) -> Session:
    """A requests session that retries transient failures (429, 5xx, drops, timeouts).

    dlt's retry waits for `Retry-After` only. Vendors that say it otherwise get it
    translated on their 429s: `wait_header` names their "seconds until reset"
    header (Contentful, Brevo), `default_wait` is the wait for a vendor whose 429
    names none (Batch: "wait at least 5 seconds").
    """
    http = Client(
        request_timeout=timeout,
        request_max_attempts=max_attempts,
        request_backoff_factor=backoff,
        request_max_retry_delay=max_delay,
        raise_for_status=False,
    ).session
    if wait_header or default_wait:
        http.hooks["response"].append(_retry_after_from(wait_header, default_wait))
    return http


def _retry_after_from(header: str | None, default: float | None):
    def hook(response: Response, *args, **kwargs) -> Response:
        if response.status_code == 429 and "Retry-After" not in response.headers:
            seconds = default
            try:
                seconds = (
                    math.ceil(float(response.headers[header])) if header and header in response.headers else default
                )
            except ValueError:
                pass
            if seconds is not None:
                response.headers["Retry-After"] = str(max(1, int(seconds)))
        return response

    return hook


def fetch(
    http: Session,
    vendor: str,
    method: str,
    url: str,
    parse: Callable[[Response], T],
    *,
    limiter: RateLimiter | None = None,
    ok_statuses: tuple[int, ...] = (),
    attempts: int = 3,
    **kwargs,
) -> tuple[int, T | None]:
    """One vendor call: paced, retried, parsed. Returns (status, parsed body).

    `ok_statuses` lists error statuses that are an answer rather than a failure
    (Sirene's 404 for "no such unit"): they come back with a None body.
    """
    last_error: Exception | None = None
    for attempt in range(1, attempts + 1):
        if limiter is not None:
            limiter.wait()
        response = http.request(method, url, **kwargs)
        if response.status_code in ok_statuses:
            return response.status_code, None
        if response.status_code >= 400:
            raise VendorHTTPError(vendor, response)
        try:
            return response.status_code, parse(response)
        except ValueError as exc:  # json.JSONDecodeError and MalformedPage are ValueErrors
            last_error = exc
            log.warning(
                "%s: unreadable page from %s %s (attempt %d/%d): %s",
                vendor,
                method,
                urlsplit(url).path,
                attempt,
                attempts,
                exc,
            )
            time.sleep(0.2 * attempt)
    raise MalformedPage(
        f"{vendor}: {method} {urlsplit(url).path} answered an unreadable page {attempts} times: {last_error}"
    )
