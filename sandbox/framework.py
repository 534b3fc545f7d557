"""What every vendor sandbox shares: requests, responses, routing, rate limits, faults.

A vendor is a `VendorSandbox` subclass that declares its routes and its own
shapes for auth failures, rate limiting and errors; the server mounts it under
`/<name>`. Faults are injected per vendor, deterministically (`fail_next`: a
queue applied to the next requests) or at random rates, so tests can prove that
nothing is lost or duplicated when the vendor misbehaves.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs

from sandbox.world import World


@dataclass
class Request:
    method: str
    path: str  # below the vendor prefix, e.g. '/siren/123456789'
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self):
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list]:
        """url-encoded or multipart form fields; multipart files come back as bytes."""
        ctype = self.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        if ctype.startswith("multipart/form-data"):
            msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + self.body)
            fields: dict[str, list] = {}
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                value = payload if part.get_filename() else payload.decode("utf-8")
                fields.setdefault(name, []).append(value)
            return fields
        return {}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8")
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    @classmethod
    def text(
        cls, text: str, status: int = 200, content_type: str = "text/plain", headers: dict[str, str] | None = None
    ) -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": f"{content_type}; charset=utf-8", **(headers or {})})


class DropConnection(Exception):
    """Raised by a fault: the server closes the socket without answering."""


@dataclass
class Faults:
    """Misbehaviour knobs, set through `POST /_sandbox/faults/<vendor>`."""

    fail_next: deque = field(default_factory=deque)  # e.g. [429, 503, 'drop', 'malformed', 'slow']
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_drop: float = 0.0
    rate_malformed: float = 0.0
    latency_ms: int = 0
    schema_drift: bool = False  # vendor-specific: an extra field appears in its payloads
    rate_row_error: float = 0.0  # vendor-specific: share of rows a batch endpoint answers with a transient error

    def update(self, knobs: dict) -> None:
        for key, value in knobs.items():
            if key == "fail_next":
                self.fail_next = deque(value)
            elif hasattr(self, key):
                setattr(self, key, type(getattr(self, key))(value))
            else:
                raise ValueError(f"unknown fault knob {key!r}")

    def as_dict(self) -> dict:
        return {**self.__dict__, "fail_next": list(self.fail_next)}


class RateLimit:
    """At most `requests` per `per_seconds`, sliding window, per vendor."""

    def __init__(self, requests: int, per_seconds: float):
        self.requests, self.per_seconds = requests, per_seconds
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float | None:
        """None when the request may go through, else the seconds until it could."""
        now = time.monotonic()
        with self._lock:
            while self._hits and now - self._hits[0] >= self.per_seconds:
                self._hits.popleft()
            if len(self._hits) >= self.requests:
                return self.per_seconds - (now - self._hits[0])
            self._hits.append(now)
            return None


Route = tuple[str, re.Pattern, Callable[..., Response]]

# the vendors' plans a sandbox can stand for: their documented default limits, or their high-volume plans
# and add-ons (Zendesk's High Volume API, Brevo's Enterprise rate limit add-on), which a first load at
# production size needs (see the README's scale section)
VENDOR_TIERS = ("standard", "high-volume")


class VendorSandbox:
    """Base class: a vendor's contract over one slice of the world."""

    name: str = ""  # URL prefix
    rate_limit: tuple[int, float] | None = None  # (requests, seconds): the vendor's documented limit
    # the same on the vendor's paid high-volume plan or add-on (`--vendor-tier high-volume`), and the source
    # configuration that paces the client under it; None where the vendor sells no such thing
    high_volume_rate_limit: tuple[int, float] | None = None
    high_volume_client_config: ClassVar[dict[str, str]] = {}

    def __init__(self, world: World, api_key: str, seed: int = 0, files_dir: Path | None = None):
        self.world = world
        self.api_key = api_key
        self.files_dir = files_dir  # where file-drop vendors (bucket exports) write their files
        self.faults = Faults()
        self.limiter = RateLimit(*self.rate_limit) if self.rate_limit else None
        self.rng = random.Random(seed)
        self.stats: dict[str, int] = {"requests": 0, "served": 0, "rejected_auth": 0, "rate_limited": 0, "faults": 0}
        self.calls: list[tuple[str, str]] = []  # (method, path) of every request that reached a handler
        self._lock = threading.Lock()
        self._routes: list[Route] = [(m, re.compile(f"^{p}$"), h) for m, p, h in self.routes()]

    # --- what a vendor declares -------------------------------------------------
    def routes(self) -> list[tuple[str, str, Callable[..., Response]]]:
        raise NotImplementedError

    def authenticate(self, req: Request) -> Response | None:
        """None when the request carries valid credentials, else the vendor's rejection."""
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        return Response.json({"error": "Too Many Requests"}, 429, {"Retry-After": str(max(1, round(retry_after)))})

    def server_error(self, status: int) -> Response:
        return Response.json({"error": "Internal Server Error"}, status)

    def not_found(self, req: Request) -> Response:
        return Response.json({"error": "Not Found"}, 404)

    def malformed(self, response: Response) -> Response:
        """A corrupted answer with a success status: half the body, as a proxy cut it."""
        return Response(200, response.body[: max(1, len(response.body) // 2)], response.headers)

    @classmethod
    def client_config(cls, base_url: str, api_key: str, files_dir: Path) -> dict[str, str]:
        """The dlt config keys (under `sources.<name>`) that point the source at this sandbox.

        Vendors whose credentials are not a single API key override this
        (e.g. an email and a token, or an OAuth client id, secret and refresh token);
        file-drop vendors point a bucket URL at `files_dir / <name>`.
        """
        return {"base_url": base_url, "api_key": api_key}

    def set_rate_limit(self, requests: int, per_seconds: float) -> None:
        self.limiter = RateLimit(requests, per_seconds)

    def use_high_volume_tier(self) -> None:
        """The account's limits become the high-volume plan's, for good (a `reset` keeps them)."""
        if self.high_volume_rate_limit:
            self.rate_limit = self.high_volume_rate_limit
            self.set_rate_limit(*self.rate_limit)

    # --- dispatch ------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        with self._lock:
            self.stats["requests"] += 1
            fault = self.faults.fail_next.popleft() if self.faults.fail_next else None
            if fault is None:
                fault = self._random_fault()
        if self.faults.latency_ms or fault == "slow":
            time.sleep((self.faults.latency_ms or 3000) / 1000)
        if fault == "drop":
            self._count("faults")
            raise DropConnection()
        if isinstance(fault, int) and fault == 429:
            self._count("faults")
            return self.too_many_requests(1)
        if isinstance(fault, int) and fault >= 500:
            self._count("faults")
            return self.server_error(fault)
        if (rejection := self.authenticate(req)) is not None:
            self._count("rejected_auth")
            return rejection
        if self.limiter and (wait := self.limiter.acquire()) is not None:
            self._count("rate_limited")
            return self.too_many_requests(wait)
        for method, pattern, handler in self._routes:
            if method == req.method and (m := pattern.match(req.path)):
                with self._lock:
                    self.calls.append((req.method, req.path))
                response = handler(req, **m.groupdict())
                self._count("served")
                if fault == "malformed":
                    self._count("faults")
                    return self.malformed(response)
                return response
        return self.not_found(req)

    def _random_fault(self):
        f, r = self.faults, self.rng.random()
        for rate, fault in (
            (f.rate_429, 429),
            (f.rate_5xx, 503),
            (f.rate_drop, "drop"),
            (f.rate_malformed, "malformed"),
        ):
            if r < rate:
                return fault
            r -= rate
        return None

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def reset(self) -> None:
        with self._lock:
            self.faults = Faults()
            self.limiter = RateLimit(*self.rate_limit) if self.rate_limit else None
            self.stats = dict.fromkeys(self.stats, 0)
            self.calls = []
