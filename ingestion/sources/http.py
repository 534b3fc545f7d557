"""The one HTTP layer of every vendor source: dlt's RESTClient on a session that knows the vendor's rules.

`VendorHttp(vendor, ...)` builds ONE requests session per source run on dlt's retrying
`Client` and a `RESTClient` (paginators and auth classes from dlt) on top of it. What dlt
lacks is added here, once:

- One retry budget: `max_attempts` requests per call, whatever goes wrong (429, 5xx,
  dropped connection, timeout, an unreadable page, a vendor's HTTP-200 error). dlt's
  tenacity loop is the only loop; nothing else re-asks. Waits grow from `backoff`
  (x2 each time) up to `max_wait`; a source that sets no `backoff` of its own starts
  from dlt's `runtime.request_backoff_factor` when it is configured, else from BACKOFF.
- HTTP-200 errors as a retry condition: a vendor's `check(response) -> Problem | None`
  sees every answer and says what is wrong with it and whether asking again can help
  (TikTok `code != 0`, a GraphQL `errors` array, a CSV cut short). The default check
  accepts any JSON answer and asks again for an unreadable one.
- Vendor wait headers: the seconds a vendor asks to wait (`Retry-After`, or the
  vendor's own header named in `wait_headers`, or a `Problem.wait`, or `default_wait`
  for a vendor whose 429 names none) become the `Retry-After` dlt's wait honours.
- One rate limiter (`RateLimiter`), applied to every attempt, retries included.
- One error type (`VendorHTTPError`) that names the vendor, the method, the host and the
  path (never the query) and says what failed in words (`connection refused`, `connection
  dropped`, `timed out`...).
- One scrubbing mechanism (`register_secrets` / `scrub`): every secret a source is
  configured with or learns (Batch keys sit in URL paths, Instagram's token in the query,
  TikTok's rotated tokens) is registered for the process; every message this layer builds,
  every record of the `pcdata.ingestion` and `dlt` loggers (`ScrubSecrets`) and the Runner's
  own failure line go through `scrub`. The final error is raised with no chained exception:
  requests' own exceptions print the full URL, and dlt keeps every exception of a chain
  (causes and contexts, suppressed or not) in its trace.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import dlt
import requests
from dlt.sources.helpers.requests import Client, Response
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.client import PageData
from dlt.sources.helpers.rest_client.paginators import BasePaginator, OffsetPaginator
from dlt.sources.helpers.rest_client.utils import join_url
from requests.adapters import HTTPAdapter

log = logging.getLogger("pcdata.ingestion")

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
MIN_SECRET_LENGTH = 4  # shorter values would scrub ordinary words


def register_secrets(*secrets: str | None) -> None:
    """Secrets that must never be shown, for the rest of the process (configured or learnt during a run)."""
    with _SECRETS_LOCK:
        _SECRETS.update(s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH)


def scrub(text: str) -> str:
    """`text` with every registered secret replaced by `***`, the longest first."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return text


class ScrubSecrets(logging.Filter):
    """A logging filter that scrubs each record's final message (installed on the ingestion and dlt loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            message = record.getMessage()
            cleaned = scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


# a logger's filter sees only the records logged on that very logger: each one that prints URLs is named
for _name in ("pcdata.ingestion", "dlt", "urllib3.connectionpool", "urllib3.util.retry", "requests"):
    if not any(isinstance(f, ScrubSecrets) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(ScrubSecrets())


def _scrub_exchange(request: requests.PreparedRequest | None, response: Response | None) -> None:
    """Scrub the URL and headers a failed exchange keeps (an error's `.request` / `.response` travel
    with it); only once no attempt will send that request again."""
    for r in (request, getattr(response, "request", None)):
        if r is not None:
            r.url = scrub(str(r.url))
            for name, value in list(r.headers.items()):
                r.headers[name] = scrub(str(value))
    if response is not None:
        response.url = scrub(str(response.url))


MAX_ATTEMPTS = 5  # requests per call at most, first one included
BACKOFF = 0.5  # first pause between attempts (s), doubled each time: 0.5, 1, 2, 4
MAX_WAIT = 120.0  # longest single pause (s), the vendor's own wait headers included


class RateLimiter:
    """At most `calls` per `period` seconds across threads, in one of two shapes.

    - `spread=True` (the default): even spacing, one call every `period / calls`
      seconds: a burst of a minute's quota in one second is what gateways with
      shorter internal windows reject;
    - `spread=False`: a sliding-window budget (an hourly quota): a run of a few
      hundred calls goes at full speed and still never exceeds the budget.

    Both are the same sliding window: even spacing is a window of one call.
    """

    def __init__(self, calls: float, period: float, *, spread: bool = True):
        if calls <= 0 or period <= 0:
            raise ValueError("RateLimiter needs calls > 0 and period > 0")
        self.calls, self.period = (1, period / calls) if spread else (max(1, int(calls)), period)
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                while self._hits and now - self._hits[0] >= self.period:
                    self._hits.popleft()
                if len(self._hits) < self.calls:
                    self._hits.append(now)
                    return
                pause = self.period - (now - self._hits[0])
            time.sleep(max(0.001, pause))


@dataclass(frozen=True)
class Problem:
    """What is wrong with an answer: `message` (the vendor's words), whether asking again can help,
    and how long the vendor asks to wait first (seconds)."""

    message: str
    retry: bool = False
    wait: float | None = None


Check = Callable[[Response], "Problem | None"]


class VendorHTTPError(requests.HTTPError):
    """A call that failed for good, in one line: vendor, method, path, what went wrong; never a secret.

    A `requests.HTTPError` with its response, so that dlt's retry sees the status and the
    `Retry-After` of the answers it may ask again.
    """

    def __init__(self, message: str, response: Response | None = None, retry: bool = False):
        super().__init__(message, response=response)
        self.retry = retry
        self.status_code = response.status_code if response is not None else None


class MalformedPage(ValueError):
    """A 200 answer whose body cannot be read as the vendor's format."""


def json_body(response: Response) -> Problem | None:
    """The default check: a success must be JSON; an error status is left to the generic rule."""
    if response.status_code < 400:
        try:
            response.json()
        except ValueError as exc:
            return Problem(f"unreadable page ({exc})", retry=True)
    return None


def checked(*checks: Callable[[Response], Any]) -> Check:
    """A check from parse functions: a success whose parsing raises ValueError is re-asked."""

    def check(response: Response) -> Problem | None:
        if response.status_code >= 400:
            return None
        for parse in checks:
            try:
                parse(response)
            except ValueError as exc:  # json.JSONDecodeError and MalformedPage are ValueErrors
                return Problem(f"unreadable page ({exc})", retry=True)
        return None

    return check


def wait_seconds(value: str | None) -> float | None:
    """A wait header's value in seconds (a number of seconds; some vendors send decimals)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _where(request: requests.PreparedRequest) -> str:
    """METHOD /path of a request: never its query string, where some vendors want their token."""
    return f"{request.method} {urlsplit(str(request.url)).path}"


class ShortPageOffsetPaginator(OffsetPaginator):
    """Offset paging that also stops at a short page, for APIs that give no total (Batch, Brevo's
    events): the empty page dlt's `stop_after_empty_page` would ask for is one call of quota saved."""

    def __init__(self, limit: int, offset_param: str = "offset", limit_param: str = "limit", **kwargs):
        kwargs.setdefault("total_path", None)
        super().__init__(limit=limit, offset_param=offset_param, limit_param=limit_param, **kwargs)

    def _stop_after_this_page(self, data: list | None = None) -> bool:
        return not data or len(data) < self.limit


class _PacedAdapter(HTTPAdapter):
    """Paces every request the session sends, retries included (they count against vendor limits too)."""

    def __init__(self, limiters: Callable[[requests.PreparedRequest], Iterable[RateLimiter]]):
        super().__init__(pool_maxsize=10)
        self._limiters = limiters

    def send(self, request, *args, **kwargs):
        for limiter in self._limiters(request):
            limiter.wait()
        return super().send(request, *args, **kwargs)


class VendorHttp:
    """One vendor's HTTP: a paced, retrying session, its RESTClient, and its errors.

    `limiter`: a RateLimiter for every call, or a function request -> the limiters that
    apply to it (per endpoint family). `check`: the vendor's reading of an answer (see
    module doc). `describe`: the vendor's error detail from an error answer (default: the
    start of the body). `hint`: added to 401/403 errors. `secrets`: scrubbed from every
    message. `pause_after`: seconds to pause after an answer that says the quota is
    nearly spent (usage headers), before the next call.
    """

    def __init__(
        self,
        vendor: str,
        *,
        base_url: str = "",
        headers: dict[str, str] | None = None,
        auth: requests.auth.AuthBase | None = None,
        paginator: BasePaginator | None = None,
        limiter: RateLimiter | Callable[[requests.PreparedRequest], Iterable[RateLimiter]] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: float | None = None,
        max_wait: float = MAX_WAIT,
        timeout: float = 60,
        wait_headers: tuple[str, ...] = (),
        default_wait: float | None = None,
        check: Check | None = json_body,
        describe: Callable[[Response], str] | None = None,
        hint: str | None = None,
        secrets: Iterable[str | None] = (),
        pause_after: Callable[[Response], float] | None = None,
    ):
        self.vendor = vendor
        self.timeout = timeout
        self.max_attempts = max(1, int(max_attempts))
        self.wait_headers = ("Retry-After", *wait_headers)
        self.default_wait = default_wait
        self.check = check
        self.describe = describe or (lambda r: r.text[:300].replace("\n", " "))
        self.hint = hint or (
            f"check the credentials in sources.{vendor} (dlt secrets or SOURCES__{vendor.upper()}__* env vars)"
        )
        register_secrets(*secrets)
        self.pause_after = pause_after
        self.session = Client(
            request_timeout=timeout,
            raise_for_status=False,
            status_codes=(),  # every retry decision is `_retry`'s, from the answer's Problem
            retry_condition=_retry,
            request_max_attempts=self.max_attempts,
            request_backoff_factor=_backoff() if backoff is None else backoff,
            request_max_retry_delay=max_wait,
        ).session
        if limiter is not None:
            pick = (lambda _request: (limiter,)) if isinstance(limiter, RateLimiter) else limiter
            adapter = _PacedAdapter(pick)
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)
        self.session.hooks["response"] = [self.hook()]
        self.session.send = self._final(self.session.send)  # type: ignore[method-assign]
        self.rest = RESTClient(base_url=base_url, headers=headers, auth=auth, paginator=paginator, session=self.session)

    # --- what callers use --------------------------------------------------------------
    def paginate(self, path: str = "", **kwargs) -> Iterator[PageData]:
        """RESTClient.paginate with this vendor's rules (not dlt's default raise-for-status hook)."""
        return self.rest.paginate(path, hooks={"response": []}, **kwargs)

    def request(
        self,
        method: str,
        path: str = "",
        *,
        ok: tuple[int, ...] = (),
        check: Check | bool | None = True,
        **kwargs,
    ) -> Response:
        """One call through the RESTClient. `ok`: error statuses that are an answer (a 404 for
        "nothing yet"), returned as they are; `check`: this call's own reading of the answer."""
        hooks = {"response": []} if not ok and check is True else self.hooks(ok=ok, check=check)
        if "files" in kwargs:  # a multipart upload, which RESTClient does not build: same session, same rules
            url = path if path.startswith(("http://", "https://")) else join_url(self.rest.base_url, path)
            headers = {**(self.rest.headers or {}), **kwargs.pop("headers", {})}
            auth = kwargs.pop("auth", None) or self.rest.auth
            return self.session.request(method, url, headers=headers, auth=auth, hooks=hooks, **kwargs)
        return self.rest.request(path, method=method, hooks=hooks, **kwargs)  # type: ignore[arg-type]

    def get(self, path: str = "", **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str = "", **kwargs) -> Response:
        return self.request("POST", path, **kwargs)

    def hooks(self, ok: tuple[int, ...] = (), check: Check | bool | None = True) -> dict:
        return {"response": [self.hook(ok, self.check if check is True else check or None)]}

    def add_secrets(self, *secrets: str | None) -> None:
        """Secrets learnt during the run (an access token, a rotated refresh token)."""
        register_secrets(*secrets)

    def scrub(self, text: str) -> str:
        return scrub(text)

    def error(self, message: str, response: Response | None = None, retry: bool = False) -> VendorHTTPError:
        return VendorHTTPError(self.scrub(message), response, retry)

    # --- the mechanism ----------------------------------------------------------------------
    def hook(self, ok: tuple[int, ...] = (), check: Check | bool | None = True):
        check = self.check if check is True else check or None

        def on_response(response: Response, *args, **kwargs) -> Response:
            _ = response.content  # read it all now: the hook may raise, and a check may parse it
            _parse_json_once(response)
            if self.pause_after is not None:
                pause = self.pause_after(response)
                if pause > 0:
                    time.sleep(pause)
            if response.status_code in ok:
                return response
            problem = check(response) if check else None
            where = _where(response.request)
            if problem is not None:
                message = f"{self.vendor}: {where}: {problem.message}"
            elif response.status_code >= 400:
                hint = f" ({self.hint})" if response.status_code in (401, 403) else ""
                message = f"{self.vendor}: HTTP {response.status_code} on {where}: {self.describe(response)}{hint}"
                problem = Problem(message, retry=response.status_code == 429 or response.status_code >= 500)
            else:
                return response
            if problem.retry:
                self._ask_to_wait(response, problem)
                log.warning("%s (asking again)", self.scrub(message))
            raise self.error(message, response, problem.retry)

        return on_response

    def _ask_to_wait(self, response: Response, problem: Problem) -> None:
        """Translate the vendor's wait into the Retry-After dlt's back-off honours."""
        seconds = next((s for h in self.wait_headers if (s := wait_seconds(response.headers.get(h))) is not None), None)
        if seconds is None:
            seconds = problem.wait
        if seconds is None and response.status_code == 429:
            seconds = self.default_wait
        if seconds is not None:
            response.headers["Retry-After"] = str(max(1, math.ceil(seconds)))

    def _final(self, send):
        """What leaves the session: the answer, or one VendorHTTPError once the budget is spent."""

        def final_send(request: requests.PreparedRequest, **kwargs) -> Response:
            where = _where(request)
            try:
                return send(request, **kwargs)
            except VendorHTTPError as exc:
                _scrub_exchange(request, exc.response)
                if not exc.retry:
                    raise
                failure = self.error(f"{exc} (still failing after {self.max_attempts} attempts)", exc.response)
            except requests.RequestException as exc:  # its message holds the full URL: never shown
                _scrub_exchange(request, None)
                failure = self.error(
                    f"{self.vendor}: {where} on {_host(request)} failed after retries ({self.max_attempts} attempts):"
                    f" {_what_failed(exc, kwargs.get('timeout') or self.timeout)} [{type(exc).__name__}]"
                )
            # raised outside the except blocks: no chained exception (requests' print the URL, and
            # dlt's trace keeps every exception of a chain, suppressed contexts included)
            raise failure

        return final_send


def _parse_json_once(response: Response) -> None:
    """The check, dlt's paginator, its data selector and a resource reading sideloads each call
    `response.json()`, and requests parses the body on every call (four to five parses of each
    Zendesk export page): the first call parses, the others get the same object (which none of them
    changes: a resource builds its own rows from it)."""
    parse, parsed = response.json, cast(list[Any], [])

    def json(**kwargs):
        if not parsed:
            parsed.append(parse(**kwargs))
        return parsed[0]

    response.json = json  # type: ignore[method-assign]


def _backoff() -> float:
    """The first pause between attempts: dlt's `runtime.request_backoff_factor` (RUNTIME__REQUEST_BACKOFF_FACTOR)
    where it is configured (the test suite makes it short: its faults are not a vendor's), else BACKOFF."""
    configured = dlt.config.get("runtime.request_backoff_factor", float)
    return BACKOFF if configured is None else configured


def _host(request: requests.PreparedRequest) -> str:
    """scheme://host[:port] of a request, without any user:password@."""
    parts = urlsplit(str(request.url))
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


def _what_failed(exc: BaseException, timeout: Any = None) -> str:
    """A connection failure in words, from the exception chain requests builds (never its message)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        nested = [a for a in getattr(seen, "args", ()) if isinstance(a, BaseException)]
        seen = nested[0] if nested else (getattr(seen, "reason", None) or seen.__cause__ or seen.__context__)
        if not isinstance(seen, BaseException):
            seen = None
    kinds = {type(e).__name__ for e in chain}
    after = f" after {timeout}s" if isinstance(timeout, (int, float)) else ""
    if isinstance(exc, requests.ConnectTimeout):
        return f"timed out connecting{after} (ConnectTimeout): is the host reachable?"
    if isinstance(exc, requests.Timeout) or "ReadTimeoutError" in kinds or "TimeoutError" in kinds:
        return f"timed out waiting for the answer{after} (ReadTimeout): the vendor is slow or down"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused (nothing listens there: vendor down or wrong base_url?)"
    if kinds & {"RemoteDisconnected", "ConnectionResetError", "ProtocolError", "IncompleteRead", "BrokenPipeError"}:
        name = next(
            k
            for k in (
                "RemoteDisconnected",
                "ConnectionResetError",
                "IncompleteRead",
                "ProtocolError",
                "BrokenPipeError",
            )
            if k in kinds
        )
        return f"connection dropped by the server ({name}) on every attempt: vendor outage?"
    if kinds & {"NameResolutionError", "gaierror"}:
        return "host name not found (NameResolutionError): check base_url and DNS"
    if "SSLError" in kinds:
        return "TLS handshake failed (SSLError)"
    return "the request failed"


def _retry(response: Response | None, exception: BaseException | None) -> bool:
    return isinstance(exception, VendorHTTPError) and exception.retry
