"""Marketing report: the funnel per channel, the cost per new beneficiary of each
campaign, and daily installs beside store downloads, from the marts_marketing marts.

One self-contained HTML file (charts inlined as PNG data URIs) that can be
mailed or dropped on a share: `pcdata report marketing`.
"""

from __future__ import annotations

import base64
import html
import io
from collections import defaultdict
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from warehouse import Settings, query

TITLE = "Marketing: funnel per channel, cost per new beneficiary, installs and downloads"
MARTS = "marts_marketing"
FUNNEL_STEPS = (
    ("sends_or_impressions", "Sends / impressions"),
    ("clicks", "Clicks"),
    ("installs", "Installs"),
    ("sign_ups", "Sign-ups"),
    ("new_beneficiaries", "New beneficiaries"),
    ("first_bookings", "First bookings (30 days)"),
)


def _mart(settings: Settings, name: str) -> str:
    return f"{settings.schema_prefix}{MARTS}.{name}"


def write(settings: Settings) -> Path:
    out_dir = settings.reports_dir / "marketing"
    out_dir.mkdir(parents=True, exist_ok=True)
    funnel = _channel_funnel(settings)
    campaigns = _campaigns(settings)
    installs, downloads = _daily_installs(settings), _daily_downloads(settings)
    sections = [
        _section(
            "Funnel per channel",
            "All days and platforms; installs and what their users did next (app database) are counted "
            "from the install day. Empty cells: the channel does not report that step (organic installs "
            "come without user ids).",
            _funnel_chart(funnel),
            _table(
                ["Channel", "Cost (EUR)", *[label for _, label in FUNNEL_STEPS]],
                [[ch, _money(row["cost"]), *[_count(row[k]) for k, _ in FUNNEL_STEPS]] for ch, row in funnel.items()],
            ),
        ),
        _section(
            "Cost per new beneficiary per campaign",
            "Paid campaigns: media spend / new beneficiaries among the installs attributed to the campaign. "
            "Owned channels (push, email) have no media spend.",
            _cost_chart(campaigns),
            _table(
                [
                    "Campaign",
                    "Channel",
                    "Dates",
                    "Reach",
                    "Installs",
                    "Sign-ups",
                    "New beneficiaries",
                    "Cost (EUR)",
                    "Cost per install",
                    "Cost per new beneficiary",
                ],
                [
                    [
                        c["utm_campaign"],
                        c["channel"],
                        f"{c['start_date'] or ''} to {c['end_date'] or ''}",
                        _count(c["reach"]),
                        _count(c["installs"]),
                        _count(c["sign_ups"]),
                        _count(c["new_beneficiaries"]),
                        _money(c["cost"]),
                        _money(c["cost_per_install"]),
                        _money(c["cost_per_new_beneficiary"]),
                    ]
                    for c in campaigns
                ],
            ),
        ),
        _section(
            "Daily installs and downloads",
            "App Store first-time downloads and Google Play device installs (store reports) beside the installs "
            "AppsFlyer measures (attributed and organic), over the days the store reports cover.",
            _daily_chart(installs, downloads),
            "",
        ),
    ]
    path = out_dir / "index.html"
    path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(TITLE)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:3px 8px}"
        "td.n{text-align:right}</style></head><body>"
        f"<h1>{html.escape(TITLE)}</h1>" + "".join(sections) + "</body></html>",
        encoding="utf-8",
    )
    return path


# --- data ---------------------------------------------------------------------------


def _channel_funnel(settings: Settings) -> dict[str, dict]:
    columns = [k for k, _ in FUNNEL_STEPS] + ["cost"]
    rows = query(
        settings,
        f"select channel, {', '.join(f'sum({c})' for c in columns)} "
        f"from {_mart(settings, 'mrt_marketing__daily_channel_performance')} group by 1 order by 1",
    )
    return {r[0]: dict(zip(columns, r[1:], strict=True)) for r in rows}


def _campaigns(settings: Settings) -> list[dict]:
    columns = [
        "utm_campaign",
        "channel",
        "channel_type",
        "start_date",
        "end_date",
        "reach",
        "installs",
        "sign_ups",
        "new_beneficiaries",
        "cost",
        "cost_per_install",
        "cost_per_new_beneficiary",
    ]
    rows = query(
        settings,
        f"select {', '.join(columns)} from {_mart(settings, 'mrt_marketing__campaign_funnel')} "
        "order by start_date, utm_campaign",
    )
    return [dict(zip(columns, r, strict=True)) for r in rows]


def _daily_installs(settings: Settings) -> dict[date, int]:
    rows = query(
        settings,
        f"select activity_date, sum(installs) from {_mart(settings, 'mrt_marketing__daily_channel_performance')} "
        "where installs is not null group by 1",
    )
    return {d: int(n) for d, n in rows}


def _daily_downloads(settings: Settings) -> dict[str, dict[date, int]]:
    out: dict[str, dict[date, int]] = defaultdict(dict)
    for store, day, n in query(
        settings,
        f"select store, download_date, sum(downloads) from {_mart(settings, 'mrt_marketing__daily_app_downloads')} "
        "group by 1, 2",
    ):
        out[store][day] = int(n)
    return out


# --- charts -------------------------------------------------------------------------


def _funnel_chart(funnel: dict[str, dict]) -> str:
    steps = FUNNEL_STEPS[2:]  # sends and clicks dwarf the rest: they are in the table
    fig, ax = plt.subplots(figsize=(10, 4))
    channels = list(funnel)
    width = 0.8 / len(steps)
    for i, (key, label) in enumerate(steps):
        ax.bar(
            [x + i * width for x in range(len(channels))],
            [funnel[c][key] or 0 for c in channels],
            width,
            label=label,
        )
    ax.set_xticks([x + width * (len(steps) - 1) / 2 for x in range(len(channels))], channels, rotation=30, ha="right")
    ax.set_ylabel("users")
    ax.set_title("Installs and what their users did next, per channel")
    ax.legend()
    return _image(fig)


def _cost_chart(campaigns: list[dict]) -> str:
    paid = [c for c in campaigns if c["cost_per_new_beneficiary"] is not None]
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.35 * len(paid) + 1)))
    ax.barh([c["utm_campaign"] for c in paid], [float(c["cost_per_new_beneficiary"]) for c in paid])
    ax.invert_yaxis()
    ax.set_xlabel("EUR per new beneficiary")
    ax.set_title("Cost per new beneficiary, paid campaigns")
    return _image(fig)


def _daily_chart(installs: dict[date, int], downloads: dict[str, dict[date, int]]) -> str:
    days = sorted({d for per_store in downloads.values() for d in per_store})
    fig, ax = plt.subplots(figsize=(10, 4))
    for store, per_day in sorted(downloads.items()):
        store_days = sorted(per_day)  # the App Store's latest day comes a day later: no false zero
        ax.plot(mdates.date2num(store_days), [per_day[d] for d in store_days], label=f"{store} downloads")
    ax.plot(mdates.date2num(days), [installs.get(d, 0) for d in days], label="AppsFlyer installs", color="black", lw=1)
    ax.xaxis_date()
    ax.set_ylabel("per day")
    ax.set_title("Daily store downloads and measured installs")
    ax.legend()
    fig.autofmt_xdate()
    return _image(fig)


def _image(fig) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return f"<img alt='chart' src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}'>"


# --- html ---------------------------------------------------------------------------


def _section(title: str, text: str, chart: str, table: str) -> str:
    return f"<h2>{html.escape(title)}</h2><p>{html.escape(text)}</p>{chart}{table}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='n'>{html.escape(v)}</td>" if i > 0 and v[:1].isdigit() else f"<td>{html.escape(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _count(value) -> str:
    return "" if value is None else f"{int(value):,}".replace(",", " ")


def _money(value) -> str:
    return "" if value is None else f"{float(value):,.2f}".replace(",", " ")
