"""Date windows shared by the day-by-day sources (Instagram, TikTok, App downloads).

Call budgets live in http.RateLimiter (`spread=False` for an hourly budget).
"""

from __future__ import annotations

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
