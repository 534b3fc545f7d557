"""Ground truth of the regional marts, computed straight from the world.

Tests compare the marts with these figures end to end (world -> PostgreSQL and
sandboxes -> dlt -> dbt), so a bug anywhere on the way shows up as a mismatch.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from sandbox.world import World, catalog
from sandbox.world.geography import geo


def beneficiaries_by_department(world: World, as_of: datetime | None = None) -> Counter:
    """Users holding at least one deposit, by the department they live in at `as_of`."""
    snap = world.snapshot(as_of)
    beneficiaries = {d["userId"] for d in snap["deposit"]}
    return Counter(u["departementCode"] for u in snap["user"] if u["id"] in beneficiaries)


def bookings_by_department(world: World, as_of: datetime | None = None) -> Counter:
    """Non-cancelled bookings, by the booker's department at `as_of`."""
    snap = world.snapshot(as_of)
    department = {u["id"]: u["departementCode"] for u in snap["user"]}
    return Counter(department[b["userId"]] for b in snap["booking"] if b["status"] != "CANCELLED")


def amount_spent_by_department(world: World, as_of: datetime | None = None) -> dict[str, float]:
    snap = world.snapshot(as_of)
    department = {u["id"]: u["departementCode"] for u in snap["user"]}
    spent: dict[str, float] = {}
    for b in snap["booking"]:
        if b["status"] != "CANCELLED":
            dep = department[b["userId"]]
            spent[dep] = spent.get(dep, 0.0) + b["amount"] * b["quantity"]
    return spent


def offerer_sirens(world: World, as_of: datetime | None = None) -> set[str]:
    return {o["siren"] for o in world.snapshot(as_of)["offerer"]}


# --- mrt_regional__monthly_kpis and mrt_regional__departments -------------------------------------
#
# Every figure below is computed from the world's own objects (users' moves, venues' communes, the
# vendors' slices), never from the warehouse: where a user lives is the commune of their latest move,
# where a venue is is its commune (digital venues: their offerer's commune), where an Adage partner,
# a DMS applicant or a Qualtrics respondent is comes from the vendor slice itself.

Key = tuple[str, date, str]  # (kpi_name, month, department_code)


def _month(t: datetime | date) -> date:
    return date(t.year, t.month, 1)


def _next_month(m: date) -> date:
    return date(m.year + (m.month == 12), m.month % 12 + 1, 1)


def _known(department_code: str | None) -> str:
    return department_code if department_code in geo()["departments"] else "-1"


def user_departments(world: World) -> dict[int, str]:
    """Where each user lives at the end of the world's history."""
    return {u.id: _known(u.move_at(world.end).commune.department_code) for u in world.users}


def offerer_departments(world: World) -> dict[int, str]:
    return {o["id"]: _known(o["_commune"].department_code) for o in world.offerers}


def venue_departments(world: World) -> dict[int, str]:
    """A venue's commune; a digital venue has none and is placed at its offerer's."""
    offerers = offerer_departments(world)
    return {
        v["id"]: _known(v["_commune"].department_code) if v["_commune"] else offerers[v["managingOffererId"]]
        for v in world.venues
    }


def _live_bookings(world: World) -> list[dict]:
    return [b for b in world.snapshot()["booking"] if b["status"] != "CANCELLED"]


def month_spine(world: World) -> list[date]:
    """From the first deposit month to the last month with a deposit or a non-cancelled booking."""
    first = min(_month(d["dateCreated"]) for d in world.deposits)
    last = max(
        [_month(d["dateCreated"]) for d in world.deposits] + [_month(b["dateCreated"]) for b in _live_bookings(world)]
    )
    months, m = [], first
    while m <= last:
        months.append(m)
        m = _next_month(m)
    return months


def _add(out: dict, key: Key, numerator: float, denominator: float | None = None) -> None:
    num, den = out.get(key, (0.0, None))
    out[key] = (num + numerator, None if denominator is None else (den or 0.0) + denominator)


def beneficiary_kpis(world: World) -> dict[Key, tuple[float, float | None]]:
    """beneficiaries_* and bookings_user_side / spend_user_side, by the user's current department."""
    where = user_departments(world)
    months = month_spine(world)
    first_deposit: dict[int, date] = {}
    credit: dict[tuple[date, str], float] = {}
    for d in world.deposits:
        m = _month(d["dateCreated"])
        first_deposit[d["userId"]] = min(first_deposit.get(d["userId"], m), m)
        credit[(m, where[d["userId"]])] = credit.get((m, where[d["userId"]]), 0.0) + d["amount"]
    first_booking: dict[int, date] = {}
    active: dict[tuple[date, str], set[int]] = {}
    spent: dict[tuple[date, str], float] = {}
    out: dict[Key, tuple[float, float | None]] = {}
    for b in _live_bookings(world):
        m, dep = _month(b["dateCreated"]), where[b["userId"]]
        first_booking[b["userId"]] = min(first_booking.get(b["userId"], m), m)
        active.setdefault((m, dep), set()).add(b["userId"])
        spent[(m, dep)] = spent.get((m, dep), 0.0) + b["amount"] * b["quantity"]
        _add(out, ("bookings_user_side", m, dep), 1)
        _add(out, ("spend_user_side", m, dep), b["amount"] * b["quantity"])
    new: dict[tuple[date, str], int] = {}
    for user, m in first_deposit.items():
        new[(m, where[user])] = new.get((m, where[user]), 0) + 1
    bookers: dict[tuple[date, str], int] = {}
    for user, m in first_booking.items():
        bookers[(m, where[user])] = bookers.get((m, where[user]), 0) + 1
    for dep in set(where.values()) | {"-1"}:
        cumulative = ever_booked = spent_to_date = credit_to_date = 0.0
        for m in months:
            cumulative += new.get((m, dep), 0)
            ever_booked += bookers.get((m, dep), 0)
            spent_to_date += spent.get((m, dep), 0.0)
            credit_to_date += credit.get((m, dep), 0.0)
            _add(out, ("beneficiaries_new", m, dep), new.get((m, dep), 0))
            _add(out, ("beneficiaries_active", m, dep), len(active.get((m, dep), ())))
            _add(out, ("beneficiaries_cumulative", m, dep), cumulative)
            _add(out, ("beneficiaries_ever_booked_share", m, dep), ever_booked, cumulative)
            _add(out, ("beneficiaries_avg_amount_spent", m, dep), spent_to_date, cumulative)
            _add(out, ("beneficiaries_credit_spent_share", m, dep), spent_to_date, credit_to_date)
    return out


def engagement_kpis(world: World) -> dict[Key, tuple[float, float | None]]:
    """Offer consultations (ConsultOffer events of the Firebase export) per month, by the user's current department."""
    where = user_departments(world)
    out: dict[Key, tuple[float, float | None]] = {}
    for e in world.events:
        if e["eventName"] == "ConsultOffer":
            _add(out, ("offer_consultations", _month(e["eventTimestamp"]), where[e["userId"]]), 1)
    return out


def booking_mix_kpis(world: World) -> dict[Key, tuple[float, float | None]]:
    """Share of each month's non-cancelled bookings per offer category, by the booker's department."""
    where = user_departments(world)
    offer_of_stock = {s["id"]: s["offerId"] for s in world.stocks}
    category = {o["id"]: catalog.SUBCATEGORY_BY_ID[o["subcategoryId"]].category_id for o in world.offers}
    categories = sorted({s.category_id for s in catalog.SUBCATEGORIES})
    totals: dict[tuple[date, str], int] = {}
    by_category: dict[tuple[date, str, str], int] = {}
    for b in _live_bookings(world):
        m, dep = _month(b["dateCreated"]), where[b["userId"]]
        cat = category[offer_of_stock[b["stockId"]]]
        totals[(m, dep)] = totals.get((m, dep), 0) + 1
        by_category[(m, dep, cat)] = by_category.get((m, dep, cat), 0) + 1
    return {
        (f"booking_mix_share__{cat.lower()}", m, dep): (by_category.get((m, dep, cat), 0), total)
        for (m, dep), total in totals.items()
        for cat in categories
    }


def supply_kpis(world: World) -> dict[Key, tuple[float, float | None]]:
    """Venue-side bookings and spend, offers created and bookable, active venues and offerers."""
    venue_dep, offerer_dep = venue_departments(world), offerer_departments(world)
    out: dict[Key, tuple[float, float | None]] = {}
    venues: dict[tuple[date, str], set[int]] = {}
    offerers: dict[tuple[date, str], set[int]] = {}
    for b in _live_bookings(world):
        m = _month(b["dateCreated"])
        _add(out, ("bookings_venue_side", m, venue_dep[b["venueId"]]), 1)
        _add(out, ("spend_venue_side", m, venue_dep[b["venueId"]]), b["amount"] * b["quantity"])
        venues.setdefault((m, venue_dep[b["venueId"]]), set()).add(b["venueId"])
        offerers.setdefault((m, offerer_dep[b["offererId"]]), set()).add(b["offererId"])
    for (m, dep), ids in venues.items():
        _add(out, ("venues_active", m, dep), len(ids))
    for (m, dep), ids in offerers.items():
        _add(out, ("offerers_active", m, dep), len(ids))
    for o in world.offers:
        _add(out, ("offers_created", _month(o["dateCreated"]), venue_dep[o["venueId"]]), 1)
    stocks: dict[int, list[dict]] = {}
    for s in world.stocks:
        stocks.setdefault(s["offerId"], []).append(s)
    for m in month_spine(world):
        end = datetime.combine(_next_month(m), datetime.min.time())
        for o in world.offers:
            if o["_final_validation"] != "VALIDATED" or o["_validated_at"] >= end:
                continue
            if any(
                s["dateCreated"] < end and (s["beginningDatetime"] is None or s["beginningDatetime"] >= end)
                for s in stocks[o["id"]]
            ):
                _add(out, ("offers_bookable", m, venue_dep[o["venueId"]]), 1)
    return out


def adage_kpis(world: World, school_year_ids: set[int]) -> dict[Key, tuple[float, float | None]]:
    """Involved pupils and schools per school year (month: 1 September) and department; active cultural
    partners by their commune's department on the latest of `school_year_ids` (the years loaded)."""
    from sandbox.vendors.adage.world import build

    adage = world.slice("adage", build)
    out: dict[Key, tuple[float, float | None]] = {}
    for year_id, stats in adage["stats"].items():
        if year_id not in school_year_ids:
            continue
        month = date(2014 + year_id, 9, 1)
        for code, row in stats["departements"].items():
            dep = _known(code[1:] if code.startswith("0") else code)
            _add(out, ("adage_involved_students_share", month, dep), row["eleves"], row["totalEleves"])
            _add(out, ("adage_involved_institutions_share", month, dep), row["etabs"], row["totalEtabs"])
    current = date(2014 + max(school_year_ids), 9, 1)
    venue_commune = {v["siret"]: v["_commune"] for v in world.venues if v["siret"]}
    for p in adage["partners"]:
        if p["actif"] == 1:
            _add(out, ("adage_cultural_partners", current, _known(venue_commune[p["siret"]].department_code)), 1)
    return out


def _dms_dossiers(world: World) -> list[dict]:
    from sandbox.vendors.dms.world import build

    return world.slice("dms", build)


def dms_kpis(world: World) -> dict[Key, tuple[float, float | None]]:
    """Dossiers filed (month of filing), accepted and refused (month of decision) per applicant kind."""
    out: dict[Key, tuple[float, float | None]] = {}
    for d in _dms_dossiers(world):
        kind = "young" if d["kind"] == "jeune" else "pro"
        dep = _known(d["address"]["departmentCode"])
        _add(out, (f"dms_{kind}_dossiers_submitted", _month(d["dateDepot"]), dep), 1)
        if d["state"] in ("accepte", "refuse"):
            outcome = "accepted" if d["state"] == "accepte" else "refused"
            _add(out, (f"dms_{kind}_dossiers_{outcome}", _month(d["dateTraitement"]), dep), 1)
    return out


def dms_processing_days(world: World) -> dict[tuple[str, date, str], list[int]]:
    """(kpi_name, month of decision, department) -> calendar days from filing to decision of each decided
    dossier: the values the median KPI is the median of."""
    out: dict[tuple[str, date, str], list[int]] = {}
    for d in _dms_dossiers(world):
        if d["state"] in ("accepte", "refuse", "sans_suite"):
            kind = "young" if d["kind"] == "jeune" else "pro"
            key = (
                f"dms_{kind}_processing_days_median",
                _month(d["dateTraitement"]),
                _known(d["address"]["departmentCode"]),
            )
            out.setdefault(key, []).append((d["dateTraitement"].date() - d["dateDepot"].date()).days)
    return out


def satisfaction_kpis(world: World) -> dict[Key, tuple[float, float | None]]:
    """Impact-survey responses and NPS (promoters 9-10 minus detractors 0-6, over scored responses)
    per month of recording and respondent department, young people and partners apart."""
    from sandbox.vendors.qualtrics.world import build

    data = world.slice("qualtrics", build)
    out: dict[Key, tuple[float, float | None]] = {}
    for survey in data.surveys:
        if survey["_kind"] == "other" or not survey["isActive"]:
            continue
        kind = "partner" if survey["_kind"] == "partners" else "young"
        for r in data.responses[survey["id"]]:
            m, dep = _month(r["_recorded"]), _known(r["department"])
            score = int(r["Q1"])
            _add(out, (f"satisfaction_{kind}_responses", m, dep), 1)
            _add(out, (f"satisfaction_{kind}_nps", m, dep), (score >= 9) - (score <= 6), 1)
    return out


def department_counts(world: World) -> dict[str, dict[str, int]]:
    """mrt_regional__departments: current users, beneficiaries, venues, offerers, active offerers
    (Sirene unit active: not ceased) and active Adage partners per department."""
    from sandbox.vendors.adage.world import build

    out: dict[str, dict[str, int]] = {}

    def bump(dep: str, column: str) -> None:
        out.setdefault(dep, {}).setdefault(column, 0)
        out[dep][column] += 1

    where = user_departments(world)
    beneficiaries = {d["userId"] for d in world.deposits}
    for u in world.users:
        bump(where[u.id], "users")
        if u.id in beneficiaries:
            bump(where[u.id], "beneficiaries")
    for dep in venue_departments(world).values():
        bump(dep, "venues")
    for o in world.offerers:
        dep = _known(o["_commune"].department_code)
        bump(dep, "offerers")
        if o["validationStatus"] == "VALIDATED" and not o["_ceased"]:
            bump(dep, "active_offerers")
    venue_commune = {v["siret"]: v["_commune"] for v in world.venues if v["siret"]}
    for p in world.slice("adage", build)["partners"]:
        if p["actif"] == 1:
            bump(_known(venue_commune[p["siret"]].department_code), "adage_partners")
    return out


def region_and_academy(department_code: str) -> tuple[str, str]:
    row = geo()["departments"][department_code]
    return row["region_code"], row["academy_code"]
