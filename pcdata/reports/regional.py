"""Regional report: beneficiaries and spend per department on a map of France, national KPI trends.

Reads the regional marts (mrt_regional__departments, mrt_regional__monthly_kpis) and writes one
self-contained HTML page (inline SVG charts, no script, no external asset) under
`reports/regional/index.html`.

The map is a generated tile map: each metropolitan department is a square placed on a grid at its
prefecture's position (the nearest free cell, so that the small Île-de-France departments do not
overlap), the overseas departments and collectivities are insets below. Nothing is downloaded: the
prefecture coordinates are the table below.
"""

from __future__ import annotations

import html
import io
import math
from datetime import UTC, datetime
from pathlib import Path

from warehouse import Settings, query

TITLE = "Regional KPIs: beneficiaries and spend per department, national trends"

# Prefecture (latitude, longitude) of each metropolitan department, rounded: only used to lay tiles out.
PREFECTURES: dict[str, tuple[float, float]] = {
    "01": (46.20, 5.23), "02": (49.56, 3.62), "03": (46.57, 3.33), "04": (44.09, 6.24), "05": (44.56, 6.08),
    "06": (43.70, 7.27), "07": (44.74, 4.60), "08": (49.77, 4.72), "09": (42.97, 1.61), "10": (48.30, 4.08),
    "11": (43.21, 2.35), "12": (44.35, 2.57), "13": (43.30, 5.37), "14": (49.18, -0.37), "15": (44.93, 2.44),
    "16": (45.65, 0.16), "17": (46.16, -1.15), "18": (47.08, 2.40), "19": (45.27, 1.77), "2A": (41.93, 8.74),
    "2B": (42.70, 9.45), "21": (47.32, 5.04), "22": (48.51, -2.76), "23": (46.17, 1.87), "24": (45.18, 0.72),
    "25": (47.24, 6.02), "26": (44.93, 4.89), "27": (49.03, 1.15), "28": (48.45, 1.49), "29": (47.99, -4.10),
    "30": (43.84, 4.36), "31": (43.60, 1.44), "32": (43.65, 0.59), "33": (44.84, -0.58), "34": (43.61, 3.88),
    "35": (48.11, -1.68), "36": (46.81, 1.69), "37": (47.39, 0.69), "38": (45.19, 5.72), "39": (46.67, 5.55),
    "40": (43.89, -0.50), "41": (47.59, 1.33), "42": (45.44, 4.39), "43": (45.04, 3.88), "44": (47.22, -1.55),
    "45": (47.90, 1.91), "46": (44.45, 1.44), "47": (44.20, 0.62), "48": (44.52, 3.50), "49": (47.47, -0.55),
    "50": (49.12, -1.09), "51": (48.96, 4.36), "52": (48.11, 5.14), "53": (48.07, -0.77), "54": (48.69, 6.18),
    "55": (48.77, 5.16), "56": (47.66, -2.76), "57": (49.12, 6.18), "58": (46.99, 3.16), "59": (50.63, 3.06),
    "60": (49.43, 2.08), "61": (48.43, 0.09), "62": (50.29, 2.78), "63": (45.78, 3.08), "64": (43.30, -0.37),
    "65": (43.23, 0.08), "66": (42.70, 2.90), "67": (48.57, 7.75), "68": (48.08, 7.36), "69": (45.76, 4.84),
    "70": (47.62, 6.15), "71": (46.31, 4.83), "72": (48.00, 0.20), "73": (45.57, 5.92), "74": (45.90, 6.13),
    "75": (48.86, 2.35), "76": (49.44, 1.10), "77": (48.54, 2.66), "78": (48.80, 2.13), "79": (46.32, -0.46),
    "80": (49.89, 2.30), "81": (43.93, 2.15), "82": (44.02, 1.35), "83": (43.12, 5.93), "84": (43.95, 4.81),
    "85": (46.67, -1.43), "86": (46.58, 0.34), "87": (45.83, 1.26), "88": (48.17, 6.45), "89": (47.80, 3.57),
    "90": (47.64, 6.86), "91": (48.63, 2.44), "92": (48.89, 2.21), "93": (48.91, 2.44), "94": (48.79, 2.46),
    "95": (49.04, 2.08),
}  # fmt: skip
# Insets, in this order: the five overseas departments, then the collectivities and the unknown member.
OVERSEAS = ["971", "972", "973", "974", "976"]
OTHERS = ["975", "977", "978", "986", "987", "988", "-1"]
CELL = 0.7  # tile size, in degrees of latitude

# national monthly trends: (title, [(kpi_name, legend)], unit)
TRENDS = [
    (
        "Beneficiaries per month",
        [("beneficiaries_new", "new"), ("beneficiaries_active", "active (≥ 1 booking)")],
        "beneficiaries",
    ),
    ("Non-cancelled bookings per month", [("bookings_user_side", "bookings")], "bookings"),
    ("Spend per month", [("spend_user_side", "spend")], "euros"),
    ("Bookable offers at month end", [("offers_bookable", "offers")], "offers"),
    (
        "Credit use (cumulative)",
        [
            ("beneficiaries_credit_spent_share", "share of credit spent"),
            ("beneficiaries_ever_booked_share", "share who booked"),
        ],
        "share",
    ),
    ("Cumulative beneficiaries", [("beneficiaries_cumulative", "beneficiaries")], "beneficiaries"),
]


def tile_layout(codes: list[str]) -> dict[str, tuple[int, int]]:
    """Grid cell (column, row from the top) of each metropolitan department: the free cell nearest its
    prefecture, departments far from any crowd placed first so that crowded areas spread outwards."""
    scale = math.cos(math.radians(46.5))
    points = {c: (PREFECTURES[c][1] * scale / CELL, -PREFECTURES[c][0] / CELL) for c in codes if c in PREFECTURES}

    def crowding(code: str) -> float:
        x, y = points[code]
        return sum(1 for o, (ox, oy) in points.items() if o != code and abs(ox - x) < 1.5 and abs(oy - y) < 1.5)

    taken: dict[tuple[int, int], str] = {}
    for code in sorted(points, key=lambda c: (crowding(c), c)):
        x, y = points[code]
        best = min(
            (
                (dx, dy)
                for dx in range(round(x) - 4, round(x) + 5)
                for dy in range(round(y) - 4, round(y) + 5)
                if (dx, dy) not in taken
            ),
            key=lambda cell: ((cell[0] - x) ** 2 + (cell[1] - y) ** 2, cell),
        )
        taken[best] = code
    min_x = min(cx for cx, _ in taken)
    min_y = min(cy for _, cy in taken)
    return {code: (cx - min_x, cy - min_y) for (cx, cy), code in taken.items()}


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _tile_map(values: dict[str, float], names: dict[str, str], title: str, unit: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import colors

    layout = tile_layout(sorted(PREFECTURES))
    width = max(cx for cx, _ in layout.values()) + 1
    height = max(cy for _, cy in layout.values()) + 1
    top = max(values.values(), default=0) or 1
    cmap = plt.get_cmap("YlGnBu")
    norm = colors.Normalize(vmin=0, vmax=top)
    fig, ax = plt.subplots(figsize=(7.5, 8.6))

    def tile(code: str, x: float, y: float, label: str) -> None:
        value = values.get(code, 0)
        ax.add_patch(plt.Rectangle((x, y), 0.94, 0.94, facecolor=cmap(norm(value)), edgecolor="white"))
        ink = "white" if norm(value) > 0.55 else "#222222"
        ax.text(x + 0.47, y + 0.6, label, ha="center", va="center", fontsize=6.5, color=ink, weight="bold")
        ax.text(x + 0.47, y + 0.28, f"{value:,.0f}", ha="center", va="center", fontsize=5, color=ink)

    for code, (cx, cy) in layout.items():
        tile(code, cx, height - 1 - cy, code)
    # insets below the mainland: overseas departments, then collectivities and unlocated
    for row, codes in enumerate((OVERSEAS, OTHERS)):
        y = -2.2 - 2.2 * row
        ax.text(-0.1, y + 1.2, "Overseas departments" if row == 0 else "Collectivities, unknown", fontsize=7)
        for i, code in enumerate(codes):
            tile(code, i * 1.6, y, code)
            ax.text(i * 1.6 + 0.47, y - 0.12, names.get(code, code)[:14], ha="center", va="top", fontsize=4.5)
    ax.set_xlim(-0.5, max(width, 11) + 0.5)
    ax.set_ylim(-5.2, height + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.5, pad=0.01)
    bar.set_label(unit)
    svg = _svg(fig)
    plt.close(fig)
    return svg


def _trend_chart(series: dict[str, list[tuple]], title: str, unit: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.8))
    for legend, points in series.items():
        if points:
            ax.plot([m for m, _ in points], [v for _, v in points], label=legend, linewidth=1.6)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=7)
    fig.autofmt_xdate()
    svg = _svg(fig)
    plt.close(fig)
    return svg


def write(settings: Settings) -> Path:
    marts = settings.schema_prefix + "marts_regional"
    departments = query(
        settings,
        f"select department_code, department_name, region_name, users, beneficiaries, venues, adage_partners "
        f"from {marts}.mrt_regional__departments order by department_code",
    )
    spend = dict(
        query(
            settings,
            f"select dimension_value, sum(numerator) from {marts}.mrt_regional__monthly_kpis "
            "where dimension_name = 'DEP' and kpi_name = 'spend_user_side' group by dimension_value",
        )
    )
    trends = query(
        settings,
        f"select kpi_name, month, kpi from {marts}.mrt_regional__monthly_kpis "
        f"where dimension_name = 'NAT' and kpi_name in ({', '.join(repr(k) for _, ks, _ in TRENDS for k, _ in ks)}) "
        "order by month",
    )
    names = {code: name for code, name, *_ in departments}
    beneficiaries = {code: float(b) for code, _, _, _, b, _, _ in departments}
    spend_by_department = {code: float(v or 0) for code, v in spend.items()}
    by_kpi: dict[str, list[tuple]] = {}
    for kpi_name, month, kpi in trends:
        if kpi is not None:
            by_kpi.setdefault(kpi_name, []).append((month, float(kpi)))

    maps = [
        _tile_map(beneficiaries, names, "Beneficiaries per department (current residence)", "beneficiaries"),
        _tile_map(spend_by_department, names, "Spend per department (booker's residence, all months)", "euros"),
    ]
    charts = [
        _trend_chart({legend: by_kpi.get(kpi, []) for kpi, legend in kpis}, title, unit) for title, kpis, unit in TRENDS
    ]
    top = sorted(departments, key=lambda r: -r[4])[:15]
    rows = "\n".join(
        f"<tr><td>{html.escape(code)}</td><td>{html.escape(name)}</td><td>{html.escape(region)}</td>"
        f"<td>{users:,}</td><td>{benef:,}</td><td>{spend_by_department.get(code, 0):,.2f}</td>"
        f"<td>{venues:,}</td><td>{partners:,}</td></tr>"
        for code, name, region, users, benef, venues, partners in top
    )
    total_benef = sum(beneficiaries.values())
    total_spend = sum(spend_by_department.values())
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(TITLE)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1300px; }}
.row {{ display: flex; flex-wrap: wrap; gap: 1.5em; }}
.row > div {{ flex: 1 1 560px; }}
svg {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }}
.note {{ color: #666; font-size: 0.85em; }}
</style></head><body>
<h1>{html.escape(TITLE)}</h1>
<p>{total_benef:,.0f} beneficiaries, {total_spend:,.2f} euros spent on non-cancelled bookings.
Source: <code>{marts}.mrt_regional__departments</code> and <code>{marts}.mrt_regional__monthly_kpis</code>
(definitions of every KPI in the dbt seed <code>regional_kpis</code>). Generated {generated}.</p>
<h2>Per department</h2>
<p class="note">Tile map: one square per department, placed near its prefecture; overseas departments,
collectivities and unlocated users ("-1") are insets below the mainland.</p>
<div class="row">{"".join(f"<div>{svg}</div>" for svg in maps)}</div>
<h2>National trends (monthly)</h2>
<div class="row">{"".join(f"<div>{svg}</div>" for svg in charts)}</div>
<h2>Departments with the most beneficiaries</h2>
<table><tr><th>Code</th><th>Department</th><th>Region</th><th>Users</th><th>Beneficiaries</th>
<th>Spend (EUR)</th><th>Venues</th><th>Adage partners</th></tr>
{rows}
</table>
</body></html>
"""
    out = settings.reports_dir / "regional" / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
