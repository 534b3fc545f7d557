"""Date windows and hourly call budgets shared by the day-by-day sources
(Instagram, TikTok, App downloads).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, date, datetime, timedelta


def window(state: dict, start_date: str | None, end_date: str | None, lookback_days: int) -> tuple[date, date]:
    """[start, end] to pull.

    end: `end_date`, or yesterday (UTC) by default (ds). The first run starts at
    `start_date` (default: end - lookback, i.e. ds-7..ds); later runs start
    `lookback_days` before the end of the previous run (`state["last_end"]`), so
    late corrections are re-pulled, and never before `start_date`.
    """
    end = date.fromisoformat(end_date) if end_date else datetime.now(UTC).date() - timedelta(days=1)
    floor = date.fromisoformat(start_date) if start_date else None
    last_end = state.get("last_end")
    if last_end:
        start = min(date.fromisoformat(last_end), end) - timedelta(days=lookback_days)
    else:
        start = floor or end - timedelta(days=lookback_days)
    if floor:
        start = max(start, floor)
    return start, end


def days(start: date, end: date):
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


class HourlyBudget:
    """At most `calls` per `period` seconds, sliding window (thread-safe).

    For vendors whose limit is an hourly (or daily) budget rather than a rate:
    a run of a few hundred calls goes at full speed and still never exceeds the
    budget, where even spacing (http.RateLimiter) would sleep a second per call.
    """

    def __init__(self, calls: int, period: float = 3600.0):
        self.calls, self.period = calls, period
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
            time.sleep(max(0.01, pause))
