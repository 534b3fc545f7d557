"""The marketing slice of the world, shared by the AppsFlyer, Batch and Brevo sandboxes.

One campaign catalogue (name, UTM tag, dates, channel) drives all three vendors,
so marketing marts can join them on the UTM tag:
- AppsFlyer attributes app installs of real world users (`customer_user_id` =
  user id, installed around their sign-up, on iOS or Android) to the paid and
  owned campaigns live at that time; its campaign name is the UTM tag.
- Batch sends the `push` campaigns on both apps; their deeplink carries
  `utm_campaign=<tag>`; transactional pushes follow the users' bookings.
- Brevo sends the `email` campaigns (newsletters, campaign `tag` = UTM tag) and
  transactional emails (booking confirmation, cancellation...) to the world's users.

Use it through `world.slice("marketing", build)`: built once, with its own seed.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from sandbox.world.generator import WORLD_END, WORLD_START, World, _email
from sandbox.world.table import Table, TableBuilder

IOS_APP_ID = "id1557887412"
ANDROID_APP_ID = "app.passculture.webapp"
APPS = {"ios": IOS_APP_ID, "android": ANDROID_APP_ID}

THEMES = (
    "rentree",
    "festival_livre",
    "fete_musique",
    "cinema_ete",
    "printemps_poetes",
    "nuit_musees",
    "noel",
    "jeux_video",
    "theatre",
    "credit_18ans",
    "expo_photo",
    "concerts_jeunes",
)
# channel -> (AppsFlyer media source, AppsFlyer channel), paid networks first
PAID_SOURCES = (
    ("googleadwords_int", "UAC_Search"),
    ("Facebook Ads", "Instagram"),
    ("tiktokglobal_int", "TikTok"),
    ("snapchat_int", "Snapchat"),
    ("Apple Search Ads", "Search"),
)
OWNED = {"push": ("batch_int", "push"), "email": ("brevo_int", "email")}
AGENCIES = ("", "", "havas_media")  # Agency/PMD (af_prt), mostly none

TRANSACTIONAL_TEMPLATES = (  # (id, name, tag) Brevo transactional templates
    (12, "Confirmation de réservation", "booking_confirmation"),
    (13, "Annulation de réservation", "booking_cancellation"),
    (17, "Réservation bientôt expirée", "booking_expiring"),
    (21, "Crédit activé", "credit_activated"),
    (30, "Ancien modèle", "legacy"),  # inactive: must not be asked for
)
BATCH_GROUPS = ("Cancel_booking", "Offer_link", "Soon_expiring_bookings", "Today_stock", "Favorites_not_booked")


@dataclass
class Marketing:
    campaigns: list[dict]  # the catalogue: id, name, utm, channel, media_source, af_channel, start, end
    installs: Table  # AppsFlyer non-organic installs (raw): user id, platform, time, campaign
    organic_installs: Table
    in_app_events: Table  # AppsFlyer in-app events of attributed installs
    ad_spend: Table  # a paid campaign's day on a platform: day, platform, utm, impressions, clicks, cost
    batch_campaigns: list[dict]  # one per (push campaign, platform)
    batch_transactional: Table  # (group, platform, day) -> counts
    newsletters: list[dict]  # Brevo email campaigns
    templates: list[dict]
    email_events: Table  # Brevo transactional events (email in clear: the sandbox serves it)

    def campaign_by_utm(self) -> dict[str, dict]:
        return {c["utm"]: c for c in self.campaigns}


def _between(rng: random.Random, a: datetime, b: datetime) -> datetime:
    return a + timedelta(seconds=rng.randint(0, max(0, int((b - a).total_seconds()))))


def build(world: World, rng: random.Random) -> Marketing:
    # the per-user lists are held as columns (the slice's bulk: tens of thousands of rows per scale unit),
    # each made into a Table as soon as drawn, so that no two of them are held as dicts at once
    campaigns = _catalogue(world, rng)
    installs, organic, platform_of = _installs(world, rng, campaigns)
    events = _in_app_events(world, rng, installs)
    spend = _ad_spend(rng, campaigns)
    batch = _batch_campaigns(world, rng, campaigns, platform_of)
    transac = Table.from_rows(_batch_transactional(world, rng, platform_of))
    newsletters = _newsletters(world, rng, campaigns)
    templates, email_events = _emails(world, rng)
    return Marketing(campaigns, installs, organic, events, spend, batch, transac, newsletters, templates, email_events)


def _catalogue(world: World, rng: random.Random) -> list[dict]:
    n = max(16, round(60 * world.scale))
    span = (WORLD_END - timedelta(days=20) - WORLD_START).total_seconds()
    campaigns = []
    for i in range(1, n + 1):
        start = WORLD_START + timedelta(seconds=int(span * (i - rng.random()) / n))
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        channel = ("paid", "paid", "push", "email")[i % 4]
        theme = rng.choice(THEMES)
        if channel == "paid":
            media_source, af_channel = rng.choice(PAID_SOURCES)
        else:
            media_source, af_channel = OWNED[channel]
        utm = f"{start:%Y%m}_{theme}_{channel}_{i:03d}"
        days = rng.randint(10, 30) if channel == "paid" else rng.randint(3, 7)
        campaigns.append(
            {
                "id": i,
                "utm": utm,
                "name": f"{theme.replace('_', ' ').capitalize()} {start:%m/%Y} ({channel})",
                "channel": channel,
                "media_source": media_source,
                "af_channel": af_channel,
                "af_campaign_id": str(10_000_000 + i * 7919),
                "start": start,
                "end": min(start + timedelta(days=days), WORLD_END - timedelta(days=1)),
            }
        )
    return campaigns


def _installs(world: World, rng: random.Random, campaigns: list[dict]) -> tuple[Table, Table, list[str | None]]:
    """One install per user who has the app (85%), a few hours to 3 days before sign-up; and each user's
    platform by user id (None: no app), a list rather than a dict of 850,000 users at scale 200."""
    installs, organic = TableBuilder(), TableBuilder()
    platform_of: list[str | None] = [None] * (len(world.users) + 1)
    # campaigns live on each day, in catalogue order: a scan of the whole catalogue per user was O(scale^2)
    live_on: dict[date, list[dict]] = {}
    for c in campaigns:
        day = c["start"].date()
        while day <= (c["end"] + timedelta(days=60)).date():
            live_on.setdefault(day, []).append(c)
            day += timedelta(days=1)
    # and a day's list filtered for an instant is the same for every instant in the same place among
    # that day's campaign starts and stops: filtered once per place, not once per user (a day's list
    # grows with the scale)
    bounds = {
        day: sorted({t for c in cs for t in (c["start"], c["end"] + timedelta(days=60)) if t.date() == day})
        for day, cs in live_on.items()
    }
    live_at: dict[tuple, list[dict]] = {}
    for u in world.users:
        if rng.random() > 0.85:
            continue
        platform = "ios" if rng.random() < 0.4 else "android"
        platform_of[u.id] = platform
        at = max(WORLD_START, u.created_at - timedelta(minutes=rng.randint(5, 3 * 24 * 60)))
        # a campaign keeps bringing installs for a while after it ends (re-engagement, word of mouth)
        day = at.date()
        place = bisect_left(bounds.get(day, ()), at)
        key = (day, place, place < len(bounds.get(day, ())) and bounds[day][place] == at)
        if (live := live_at.get(key)) is None:
            live = live_at[key] = [c for c in live_on.get(day, ()) if c["start"] <= at <= c["end"] + timedelta(days=60)]
        record = {
            "user_id": u.id,
            "platform": platform,
            "app_id": APPS[platform],
            "install_time": at,
            "appsflyer_id": f"{int(at.timestamp() * 1000)}-{rng.getrandbits(60):018d}"[:32],
            "commune": u.move_at(at).commune,
            "os_version": rng.choice(("17.5", "18.1", "18.6")) if platform == "ios" else rng.choice(("13", "14", "15")),
            "app_version": rng.choice(("1.290.3", "1.301.0", "1.312.2")),
        }
        if live and rng.random() < 0.6:
            c = rng.choice(live)
            record.update(
                campaign=c,
                touch_time=at - timedelta(minutes=rng.randint(1, 600)),
                touch_type=rng.choice(("click", "click", "impression")),
                cost=round(rng.uniform(0.4, 3.5), 2) if c["channel"] == "paid" else None,
            )
            installs.append(record)
        else:
            organic.append(record)
    return installs.build(), organic.build(), platform_of


def _in_app_events(world: World, rng: random.Random, installs: Table) -> Table:
    # each user's first deposit (in the deposits' order), in an array by user id rather than a dict
    depositors, first = np.unique(world.deposits.numbers("userId"), return_index=True)
    first_deposit = np.full(len(world.users) + 1, np.datetime64("NaT"), dtype="datetime64[us]")
    first_deposit[depositors] = world.deposits.times("dateCreated")[first]
    events = TableBuilder()
    for ins in installs:
        u = world.user(ins["user_id"])
        events.append(
            {
                **ins,
                "event_name": "af_complete_registration",
                "event_time": u.created_at,
                "event_value": '{"af_registration_method":"email"}',
                "revenue": None,
            }
        )
        if not np.isnat(deposited := first_deposit[u.id]):
            at = deposited.item()
            events.append(
                {
                    **ins,
                    "event_name": "af_complete_beneficiary",
                    "event_time": at,
                    "event_value": '{"af_content_type":"deposit"}',
                    "revenue": None,
                }
            )
        for _ in range(rng.randint(0, 2)):
            at = _between(rng, u.created_at, min(u.created_at + timedelta(days=90), WORLD_END - timedelta(minutes=1)))
            events.append({**ins, "event_name": "af_open_app", "event_time": at, "event_value": "{}", "revenue": None})
    return events.build().sorted_by_time("event_time")


def _ad_spend(rng: random.Random, campaigns: list[dict]) -> Table:
    spend = TableBuilder()
    for c in campaigns:
        if c["channel"] != "paid":
            continue
        day = c["start"].date()
        while day <= c["end"].date():
            for platform in APPS:
                impressions = rng.randint(2_000, 40_000)
                clicks = int(impressions * rng.uniform(0.005, 0.03))
                spend.append(
                    {
                        "day": day,
                        "platform": platform,
                        "utm": c["utm"],
                        "impressions": impressions,
                        "clicks": clicks,
                        "cost": round(clicks * rng.uniform(0.2, 0.9), 2),
                    }
                )
            day += timedelta(days=1)
    return spend.build()


def _batch_campaigns(world, rng, campaigns, platform_of) -> list[dict]:
    audience = {p: sum(1 for v in platform_of if v == p) for p in APPS}
    out = []
    for c in campaigns:
        if c["channel"] != "push":
            continue
        ab = rng.random() < 0.3
        for platform in APPS:
            token = uuid.UUID(int=rng.getrandbits(128)).hex
            deeplink = f"passculture://home?utm_campaign={c['utm']}&utm_source=batch&utm_medium=push"
            messages = (
                {
                    "a": [{"title": c["name"], "body": "Version A", "deeplink": deeplink}],
                    "b": [{"title": c["name"], "body": "Version B", "deeplink": deeplink + "&utm_content=b"}],
                }
                if ab
                else [{"title": c["name"], "body": "Découvre les offres", "deeplink": deeplink}]
            )
            live = rng.random() < 0.9
            detail = []
            if live:
                sent_total = max(5, int(audience[platform] * rng.uniform(0.6, 0.95)))
                day = c["start"].date()
                for k in range(3):
                    sent = sent_total if k == 0 else 0
                    row = {
                        "date": (day + timedelta(days=k)).isoformat(),
                        "sent": sent,
                        "sent_optins": int(sent * 0.8),
                        "direct_open": int(sent_total * rng.uniform(0.01, 0.06) / (k + 1)),
                        "influenced_open": int(sent_total * rng.uniform(0.01, 0.04) / (k + 1)),
                        "reengaged": int(sent_total * rng.uniform(0.0, 0.01)),
                        "errors": rng.randint(0, 3) if k == 0 else 0,
                    }
                    if ab:
                        ra = rng.uniform(0.4, 0.6)
                        row["versions"] = {
                            v: {
                                key: (int(row[key] * (ra if v == "a" else 1 - ra)))
                                for key in ("sent", "sent_optins", "direct_open", "influenced_open", "reengaged")
                            }
                            for v in ("a", "b")
                        }
                    detail.append(row)
            out.append(
                {
                    "campaign_token": token,
                    "platform": platform,
                    "utm": c["utm"],
                    "name": c["name"],
                    "created_date": (c["start"] - timedelta(days=rng.randint(1, 5))).strftime("%Y-%m-%dT%H:%M:%S"),
                    "send_date": c["start"].strftime("%Y-%m-%dT10:00:00"),
                    "live": live,
                    "dev_only": not live and rng.random() < 0.5,
                    "from_api": False,
                    "labels": ["marketing", c["utm"].split("_", 1)[1].rsplit("_", 2)[0]],
                    "messages": messages,
                    "stats": detail,
                }
            )
    out.sort(key=lambda b: (b["created_date"], b["campaign_token"]))
    return out


def _batch_transactional(world, rng, platform_of) -> list[dict]:
    counts: dict[tuple[str, str, date], int] = {}

    def add(group: str, user_id: int, at: datetime | None) -> None:
        if at is None or at >= WORLD_END or platform_of[user_id] is None:
            return
        key = (group, platform_of[user_id], at.date())
        counts[key] = counts.get(key, 0) + 1

    for b in world.bookings:
        add("Offer_link", b["userId"], b["dateCreated"])
        add("Cancel_booking", b["userId"], b["_cancelled_at"])
        if b["_used_at"] is None and b["_cancelled_at"] is None:
            add("Soon_expiring_bookings", b["userId"], b["dateCreated"] + timedelta(days=25))
        if rng.random() < 0.1:
            add("Today_stock", b["userId"], b["dateCreated"] - timedelta(days=1))
    for e in world.events:
        if e["eventName"] == "HasAddedOfferToFavorites" and rng.random() < 0.5:
            add("Favorites_not_booked", e["userId"], e["eventTimestamp"] + timedelta(days=7))
    rows = []
    for (group, platform, day), sent in sorted(counts.items()):
        opened = sum(rng.random() < 0.25 for _ in range(sent))
        rows.append(
            {
                "group_id": group,
                "platform": platform,
                "date": day,
                "sent": sent,
                "direct_open": opened,
                "influenced_open": sum(rng.random() < 0.1 for _ in range(sent)),
                "reengaged": int(opened * 0.1),
                "errors": int(rng.random() < 0.02),
            }
        )
    return rows


def _newsletters(world, rng, campaigns) -> list[dict]:
    out = []
    subscribers = max(20, int(len(world.users) * 0.7))
    for c in campaigns:
        if c["channel"] != "email":
            continue
        sent_at = c["start"] + timedelta(hours=9, minutes=rng.randint(0, 59))
        delivered = int(subscribers * rng.uniform(0.9, 0.99))
        views = int(delivered * rng.uniform(0.15, 0.45))
        out.append(
            {
                "id": len(out) + 1,
                "name": c["name"],
                "tag": c["utm"],
                "sentDate": sent_at,
                "createdAt": sent_at - timedelta(days=rng.randint(1, 4)),
                "sent": subscribers,
                "delivered": delivered,
                "uniqueViews": views,
                "viewed": int(views * 1.4),
                "uniqueClicks": int(views * rng.uniform(0.05, 0.2)),
                "clickers": int(views * rng.uniform(0.05, 0.2)),
                "unsubscriptions": int(delivered * rng.uniform(0.001, 0.01)),
                "hardBounces": subscribers - delivered,
                "softBounces": rng.randint(0, 5),
                "complaints": rng.randint(0, 2),
                "audience": "native",
            }
        )
    return out


def _emails(world, rng) -> tuple[list[dict], Table]:
    templates = [
        {
            "id": tid,
            "name": name,
            "tag": tag,
            "isActive": tag != "legacy",
            "subject": name,
            "createdAt": WORLD_START - timedelta(days=30 * k),
            "modifiedAt": WORLD_START + timedelta(days=40 * k),
        }
        for k, (tid, name, tag) in enumerate(TRANSACTIONAL_TEMPLATES)
    ]
    # a user's email made when sent, from the name columns: a dict of every user's email was a string per
    # user held through the slice (a million at scale 200)
    first_names, last_names = world.users.column("first_name"), world.users.column("last_name")
    events = TableBuilder()  # the slice's largest list (about 22,000 events per scale unit)

    def send(template_id: int, tag: str, user_id: int, at: datetime) -> None:
        if at >= WORLD_END:
            return
        message_id = f"<{uuid.UUID(int=rng.getrandbits(128)).hex[:24]}@smtp-relay.mailin.fr>"
        base = {
            "email": _email(first_names[user_id - 1], last_names[user_id - 1], user_id),
            "messageId": message_id,
            "templateId": template_id,
            "tag": tag,
            "subject": next(t["subject"] for t in templates if t["id"] == template_id),
            "from": "support@passculture.app",
            "user_id": user_id,
        }
        delivered = at + timedelta(seconds=rng.randint(1, 60))
        events.append({**base, "event": "delivered", "date": delivered})
        if rng.random() < 0.55:
            events.append(
                {
                    **base,
                    "event": "opened",
                    "date": min(delivered + timedelta(minutes=rng.randint(1, 3000)), WORLD_END - timedelta(seconds=1)),
                }
            )
        if rng.random() < 0.01:
            events.append(
                {
                    **base,
                    "event": "unsubscribed",
                    "date": min(delivered + timedelta(hours=rng.randint(1, 48)), WORLD_END - timedelta(seconds=1)),
                }
            )

    for b in world.bookings:
        send(12, "booking_confirmation", b["userId"], b["dateCreated"])
        if b["_cancelled_at"] is not None:
            send(13, "booking_cancellation", b["userId"], b["_cancelled_at"])
    for d in world.deposits:
        send(21, "credit_activated", d["userId"], d["dateCreated"])
    return templates, events.build().sorted_by_time("date", "messageId", "event")
