"""TikTok slice of the world: the pass Culture business account, its daily
metrics with hourly audience activity, and its videos.

Daily metrics exist for the year before the world's end; values grow with
`world.scale`; videos are spread over the world's history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sandbox.world.generator import WORLD_END, WORLD_START, World
from sandbox.world.table import Table

HISTORY_DAYS = 365
BUSINESS_ID = "-000Qz8pVXmPc3bZrJ9Lk2sT4wYuN6hA1dE"  # the account's open_id
USERNAME = "passculture"
COUNTRIES = ("FR", "BE", "RE", "GP", "MQ", "CH")
IMPRESSION_SOURCES = ("For You", "Follow", "Personal Profile", "Search", "Sound", "Hashtag")
CAPTIONS = (
    "3 sorties à moins de 10 € ce week-end #passCulture",
    "POV : tu découvres que ton crédit pass Culture couvre les concerts",
    "On a testé l'escape game le plus culturel de France",
    "Le festival que tu ne dois pas rater cet été",
    "Comment réserver une place de ciné avec l'app",
)


@dataclass
class TikTokSlice:
    business_id: str
    username: str
    display_name: str
    followers_count: int
    days: dict[date, dict]  # day -> metrics (audience_activity: [{hour, count}])
    videos: Table  # newest first
    first_day: date
    last_day: date


def build(world: World, rng: random.Random) -> TikTokSlice:
    last = (WORLD_END - timedelta(days=1)).date()
    first = last - timedelta(days=HISTORY_DAYS - 1)
    size = world.scale
    followers = int(60_000 * size) + 500
    days = {}
    day = first
    while day <= last:
        views = max(1, int(rng.gauss(20000, 7000) * size))
        followers += max(0, int(rng.gauss(40, 15) * size))
        days[day] = {
            "date": day.isoformat(),
            "video_views": views,
            "likes": int(views * rng.uniform(0.03, 0.09)),
            "comments": int(views * rng.uniform(0.001, 0.006)),
            "shares": int(views * rng.uniform(0.002, 0.01)),
            "followers_count": followers,
            "profile_views": int(views * rng.uniform(0.005, 0.02)),
            "audience_activity": [
                {
                    "hour": str(h),
                    "count": max(0, int(rng.gauss(followers / 40, followers / 200) * (0.3 if h < 7 else 1))),
                }
                for h in range(24)
            ],
        }
        day += timedelta(days=1)
    n = max(6, round(80 * size))
    span = (WORLD_END - WORLD_START).total_seconds()
    videos = []
    for _ in range(n):
        at = WORLD_START + timedelta(seconds=int(span * rng.random()))
        item_id = str(7_100_000_000_000_000_000 + rng.randrange(10**17))
        views = max(1, int(rng.lognormvariate(9, 1) * size))
        duration = round(rng.uniform(8, 90), 1)
        weights = [rng.random() for _ in COUNTRIES]
        src = [rng.random() for _ in IMPRESSION_SOURCES]
        videos.append(
            {
                "item_id": item_id,
                "create_time": int(at.timestamp()),
                "caption": rng.choice(CAPTIONS),
                "share_url": f"https://www.tiktok.com/@{USERNAME}/video/{item_id}",
                "embed_url": f"https://www.tiktok.com/embed/v2/{item_id}",
                "thumbnail_url": f"https://p16-sign-va.tiktokcdn.com/obj/{item_id}.jpeg",
                "video_views": views,
                "reach": int(views * rng.uniform(0.6, 0.95)),
                "likes": int(views * rng.uniform(0.03, 0.12)),
                "comments": int(views * rng.uniform(0.001, 0.01)),
                "shares": int(views * rng.uniform(0.001, 0.02)),
                "video_duration": duration,
                "full_video_watched_rate": round(rng.uniform(0.05, 0.5), 4),
                "average_time_watched": round(duration * rng.uniform(0.2, 0.7), 2),
                "total_time_watched": round(views * duration * rng.uniform(0.2, 0.7), 1),
                "audience_countries": [
                    {"country": c, "percentage": round(w / sum(weights), 4)}
                    for c, w in zip(COUNTRIES, weights, strict=True)
                ],
                "impression_sources": [
                    {"impression_source": s, "percentage": round(w / sum(src), 4)}
                    for s, w in zip(IMPRESSION_SOURCES, src, strict=True)
                ],
            }
        )
    videos.sort(key=lambda v: (v["create_time"], v["item_id"]), reverse=True)
    return TikTokSlice(BUSINESS_ID, USERNAME, "pass Culture", followers, days, Table.from_rows(videos), first, last)


def tiktok(world: World) -> TikTokSlice:
    return world.slice("tiktok", build)
