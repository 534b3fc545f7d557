"""The app database as it stood at one instant of the world's history.

Column names follow the pass Culture backend (camelCase, quoted in PostgreSQL).
Every table carries `dateUpdated`, the last change at or before `as_of`: the
cursor of the incremental load. Rows whose creation is after `as_of` do not
exist yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .generator import World


def _latest(*stamps: datetime | None, as_of: datetime) -> datetime:
    return max(s for s in stamps if s is not None and s <= as_of)


def _seen(stamp: datetime | None, as_of: datetime) -> datetime | None:
    return stamp if stamp is not None and stamp <= as_of else None


def snapshot(world: World, as_of: datetime) -> dict[str, list[dict]]:
    deposits = [d for d in world.deposits if d["dateCreated"] <= as_of]
    deposit_types: dict[int, set[str]] = {}
    deposit_dates: dict[int, list[datetime]] = {}
    for d in deposits:
        deposit_types.setdefault(d["userId"], set()).add(d["type"])
        deposit_dates.setdefault(d["userId"], []).append(d["dateCreated"])

    users = []
    for u in world.users:
        if u.created_at > as_of:
            continue
        move = u.move_at(as_of)
        types = deposit_types.get(u.id, set())
        role = "BENEFICIARY" if "GRANT_18" in types else "UNDERAGE_BENEFICIARY" if types else "USER"
        users.append(
            {
                "id": u.id,
                "email": u.email,
                "firstName": u.first_name,
                "lastName": u.last_name,
                "phoneNumber": u.phone,
                "dateOfBirth": u.birth_date,
                "civility": u.civility,
                "activity": u.activity,
                "address": move.address,
                "postalCode": move.commune.postcode,
                "city": move.commune.city,
                "departementCode": move.commune.department_code,
                "roles": role,
                "isActive": True,
                "dateCreated": u.created_at,
                "dateUpdated": _latest(u.created_at, move.at, *deposit_dates.get(u.id, []), as_of=as_of),
            }
        )

    offerers = [
        {k: v for k, v in o.items() if not k.startswith("_")} | {"dateUpdated": o["dateCreated"]}
        for o in world.offerers
        if o["dateCreated"] <= as_of
    ]
    venues = [
        {k: v for k, v in v.items() if not k.startswith("_")} | {"dateUpdated": v["dateCreated"]}
        for v in world.venues
        if v["dateCreated"] <= as_of
    ]

    offers = []
    for o in world.offers:
        if o["dateCreated"] > as_of:
            continue
        decided = o["_validated_at"] <= as_of
        validation = o["_final_validation"] if decided else "PENDING"
        offers.append(
            {
                "id": o["id"],
                "venueId": o["venueId"],
                "subcategoryId": o["subcategoryId"],
                "name": o["name"],
                "description": o["description"],
                "isDuo": o["isDuo"],
                "extraData": o["extraData"],
                "validation": validation,
                "isActive": validation == "VALIDATED",
                "lastValidationType": o["_validation_type"] if decided else None,
                "lastValidationDate": o["_validated_at"] if decided else None,
                "dateCreated": o["dateCreated"],
                "dateUpdated": _latest(o["dateCreated"], _seen(o["_validated_at"], as_of), as_of=as_of),
            }
        )

    bookings, booked, stock_touched = [], {}, {}
    for b in world.bookings:
        if b["dateCreated"] > as_of:
            continue
        used, cancelled = _seen(b["_used_at"], as_of), _seen(b["_cancelled_at"], as_of)
        status = "CANCELLED" if cancelled else "USED" if used else "CONFIRMED"
        updated = _latest(b["dateCreated"], used, cancelled, as_of=as_of)
        bookings.append(
            {
                "id": b["id"],
                "userId": b["userId"],
                "depositId": b["depositId"],
                "stockId": b["stockId"],
                "venueId": b["venueId"],
                "offererId": b["offererId"],
                "quantity": b["quantity"],
                "amount": b["amount"],
                "token": b["token"],
                "status": status,
                "dateCreated": b["dateCreated"],
                "dateUsed": used,
                "cancellationDate": cancelled,
                "cancellationReason": b["cancellationReason"] if cancelled else None,
                "dateUpdated": updated,
            }
        )
        if status != "CANCELLED":
            booked[b["stockId"]] = booked.get(b["stockId"], 0) + b["quantity"]
        stock_touched[b["stockId"]] = max(stock_touched.get(b["stockId"], updated), updated)

    stocks = []
    for s in world.stocks:
        if s["dateCreated"] > as_of:
            continue
        stocks.append(
            {
                **s,
                "dnBookedQuantity": booked.get(s["id"], 0),
                # the backend bumps a stock when its booked quantity changes
                "dateUpdated": _latest(s["dateCreated"], stock_touched.get(s["id"]), as_of=as_of),
            }
        )

    tables = {
        "user": users,
        "deposit": [d | {"dateUpdated": d["dateCreated"]} for d in deposits],
        "offerer": offerers,
        "venue": venues,
        "offer": offers,
        "stock": stocks,
        "booking": bookings,
    }
    for table, deleted in world.hard_deletes.items():
        tables[table] = [r for r in tables[table] if not (r["id"] in deleted and deleted[r["id"]] <= as_of)]
    return tables
