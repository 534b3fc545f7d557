"""Ground truth of the marketing marts, computed straight from the world.

Per campaign (the UTM tag that drives AppsFlyer, Batch and Brevo): what was
sent or shown, what it cost, the installs AppsFlyer attributes to it and what
the app's users did after those installs; per store and day: the downloads the
stores report. Everything comes from the world's own objects (the campaign
catalogue, its vendor slices, its users, deposits and bookings), never from
the warehouse, so a bug anywhere between the world and the marts shows up.

Definitions, as the marts document them: a sign-up is an attributed install
whose user created their account at or after the install; a new beneficiary
one whose user got their first deposit at or after it; a first booking one
whose user made their first non-cancelled booking (status as of the world's
end) within 30 days after it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sandbox.world import World
from sandbox.world.campaigns import Marketing
from sandbox.world.campaigns import build as build_marketing

FIRST_BOOKING_WINDOW = timedelta(days=30)
# channel of each AppsFlyer media source, as the seed marketing_media_sources maps it
CHANNELS = {
    "googleadwords_int": "google_ads",
    "Facebook Ads": "meta_ads",
    "tiktokglobal_int": "tiktok_ads",
    "snapchat_int": "snapchat_ads",
    "Apple Search Ads": "apple_search_ads",
    "batch_int": "push",
    "brevo_int": "email",
}


@dataclass
class CampaignTruth:
    channel: str
    sends: int = 0  # paid: ad impressions; push: notifications sent; email: emails sent
    clicks: int = 0  # paid: ad clicks; push: direct opens; email: unique clicks
    installs: int = 0
    sign_ups: int = 0
    new_beneficiaries: int = 0
    first_bookings: int = 0
    cost: float = 0.0  # media spend in EUR, to the cent
    platforms: set[str] = field(default_factory=set)


def marketing(world: World) -> Marketing:
    return world.slice("marketing", build_marketing)


def _first_deposits(world: World) -> dict[int, datetime]:
    first: dict[int, datetime] = {}
    for d in world.snapshot()["deposit"]:
        if d["userId"] not in first or d["dateCreated"] < first[d["userId"]]:
            first[d["userId"]] = d["dateCreated"]
    return first


def _first_bookings(world: World) -> dict[int, datetime]:
    first: dict[int, datetime] = {}
    for b in world.snapshot()["booking"]:
        if b["status"] != "CANCELLED" and (b["userId"] not in first or b["dateCreated"] < first[b["userId"]]):
            first[b["userId"]] = b["dateCreated"]
    return first


def campaigns(world: World) -> dict[str, CampaignTruth]:
    """Per UTM tag: sends, clicks, cost, attributed installs and what their users did."""
    mkt = marketing(world)
    out = {
        c["utm"]: CampaignTruth(CHANNELS[c["media_source"]] if c["channel"] == "paid" else c["channel"])
        for c in mkt.campaigns
    }
    for spend in mkt.ad_spend:
        out[spend["utm"]].sends += spend["impressions"]
        out[spend["utm"]].clicks += spend["clicks"]
        out[spend["utm"]].cost += spend["cost"]
    for push in mkt.batch_campaigns:
        for day in push["stats"]:
            out[push["utm"]].sends += day["sent"]
            out[push["utm"]].clicks += day["direct_open"]
    for newsletter in mkt.newsletters:
        out[newsletter["tag"]].sends += newsletter["sent"]
        out[newsletter["tag"]].clicks += newsletter["uniqueClicks"]
    created = {u.id: u.created_at for u in world.users if u.created_at <= world.end}
    deposits, bookings = _first_deposits(world), _first_bookings(world)
    for install in mkt.installs:
        at, user = install["install_time"], install["user_id"]
        truth = out[install["campaign"]["utm"]]
        truth.installs += 1
        truth.platforms.add(install["platform"])
        truth.sign_ups += user in created and created[user] >= at
        truth.new_beneficiaries += user in deposits and deposits[user] >= at
        truth.first_bookings += user in bookings and at <= bookings[user] < at + FIRST_BOOKING_WINDOW
    for truth in out.values():
        truth.cost = round(truth.cost, 2)
    # a campaign nobody saw nor installed from (a push never sent live) has no row in the marts
    return {utm: t for utm, t in out.items() if t.sends or t.installs}


def installs_by_channel(world: World) -> Counter:
    """Installs per channel, organic ones included: each install counted once."""
    mkt = marketing(world)
    counts = Counter(
        CHANNELS[i["campaign"]["media_source"]] if i["campaign"]["channel"] == "paid" else i["campaign"]["channel"]
        for i in mkt.installs
    )
    counts["organic"] = len(mkt.organic_installs)
    return counts


def transactional_emails_by_template(world: World) -> Counter:
    """Distinct transactional messages per Brevo template id."""
    return Counter(
        template for template, _message in {(e["templateId"], e["messageId"]) for e in marketing(world).email_events}
    )


def downloads_by_store_and_day(world: World) -> dict[tuple[str, date], int]:
    """First-time downloads per store and day over the window the demo loads.

    App Store: units of product type 1F (free first-time download), on the days
    whose daily report exists (Apple publishes a day's report the next
    morning, so the world's last day has none yet). Google Play: daily device
    installs, summed over the countries.
    """
    from sandbox.vendors.downloads.server import DownloadsSandbox
    from sandbox.vendors.downloads.world import downloads

    config = DownloadsSandbox.client_config("http://sandbox", "key", ".")
    first, last = date.fromisoformat(config["start_date"]), date.fromisoformat(config["end_date"])
    data = downloads(world)
    out: dict[tuple[str, date], int] = defaultdict(int)
    apple_last = world.end.date() - timedelta(days=2)
    for day, rows in data.apple.items():
        if first <= day <= min(last, apple_last):
            units = sum(r["units"] for r in rows if r["product_type"] == "1F")
            if rows:
                out[("app_store", day)] += units
    for day, countries in data.google.items():
        if first <= day <= last:
            out[("google_play", day)] += sum(c["daily_device_installs"] for c in countries.values())
    return dict(out)


def transactional_pushes_by_group(world: World) -> Counter:
    """Batch transactional notifications sent per group (both apps)."""
    sent: Counter = Counter()
    for row in marketing(world).batch_transactional:
        sent[row["group_id"]] += row["sent"]
    return sent


def social_by_network(world: World) -> dict[str, dict[str, int]]:
    """Views and engagements per network over the days the demo loads (both Instagram accounts)."""
    from sandbox.vendors.instagram.server import InstagramSandbox
    from sandbox.vendors.instagram.world import instagram
    from sandbox.vendors.tiktok.server import TikTokSandbox
    from sandbox.vendors.tiktok.world import tiktok

    def window(sandbox) -> tuple[date, date]:
        config = sandbox.client_config("http://sandbox", "key", ".")
        return date.fromisoformat(config["start_date"]), date.fromisoformat(config["end_date"])

    first, last = window(InstagramSandbox)
    days = [m for (_account, day), m in instagram(world).daily.items() if first <= day <= last]
    out = {
        "instagram": {
            "views": sum(m["views"] for m in days),
            "engagements": sum(m["total_interactions"] for m in days),
        }
    }
    first, last = window(TikTokSandbox)
    days = [m for day, m in tiktok(world).days.items() if first <= day <= last]
    out["tiktok"] = {
        "views": sum(m["video_views"] for m in days),
        "engagements": sum(m["likes"] + m["comments"] + m["shares"] for m in days),
    }
    return out


def home_playlist_bookings(world: World) -> dict[tuple[str, str, int], int]:
    """Per home-page module x item it shows (offer or venue): the item's non-cancelled bookings.

    A module's items are its own offerId / offerIds and those of the parameter
    blocks it links (algoliaParameters offerIds, venuesSearchParameters venueIds).
    """
    from sandbox.vendors.contentful.world import BLOCK_TYPES
    from sandbox.vendors.contentful.world import build as build_contentful

    cms = world.slice("contentful", build_contentful)
    by_id = cms.by_id()
    snap = world.snapshot()
    offer_of_stock = {s["id"]: s["offerId"] for s in snap["stock"]}
    kept = [b for b in snap["booking"] if b["status"] != "CANCELLED"]
    per_item = {
        "offer": Counter(offer_of_stock[b["stockId"]] for b in kept),
        "venue": Counter(b["venueId"] for b in kept),
    }
    out: dict[tuple[str, str, int], int] = {}
    for entry in cms.entries:
        if entry["content_type"] in BLOCK_TYPES or entry["content_type"] == "homepageNatif":
            continue
        owners = [entry] + [
            by_id[value["sys"]["id"]]
            for value in entry["fields"].values()
            if isinstance(value, dict)
            and value.get("sys", {}).get("linkType") == "Entry"
            and value["sys"]["id"] in by_id
        ]
        for owner in owners:
            fields = owner["fields"]
            items = [("offer", i) for i in fields.get("offerIds", [])] + [
                ("venue", i) for i in fields.get("venueIds", [])
            ]
            if fields.get("offerId"):
                items.append(("offer", fields["offerId"]))
            for kind, item in items:
                out[(entry["id"], kind, int(item))] = per_item[kind][int(item)]
    return out
