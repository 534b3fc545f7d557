"""App downloads slice of the world: daily App Store sales summary rows and
daily Google Play install statistics, for the year before the world's end.

Units grow with `world.scale`; first-time downloads follow the world's sign-ups
loosely (more downloads on days with more new users).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sandbox.world.generator import WORLD_END, World

HISTORY_DAYS = 365
APPLE_APP = {"sku": "passculture", "title": "pass Culture", "apple_identifier": "1557887412", "version": "1.300.4"}
APPLE_COUNTRIES = (("FR", 80), ("RE", 4), ("GP", 3), ("MQ", 3), ("GF", 1), ("YT", 1), ("BE", 1), ("NC", 1))
# Product Type Identifier: 1F free first-time download (universal), 3F redownload, 7F update
APPLE_PRODUCT_TYPES = (("1F", 1.0), ("3F", 0.25), ("7F", 2.5))
DEVICES = (("iPhone", 0.9), ("iPad", 0.1))
GOOGLE_PACKAGE = "app.passculture.webapp"
GOOGLE_COUNTRIES = ("FR", "RE", "GP", "MQ", "GF", "YT", "BE")


@dataclass
class DownloadsSlice:
    apple: dict[date, list[dict]]  # report date -> summary rows (units > 0)
    google: dict[date, dict[str, dict]]  # day -> country -> install stats
    first_day: date
    last_day: date  # inclusive: the world's yesterday

    def google_overview(self, day: date) -> dict:
        rows = self.google[day].values()
        return {k: sum(r[k] for r in rows) for k in next(iter(rows))}


def build(world: World, rng: random.Random) -> DownloadsSlice:
    last = (WORLD_END - timedelta(days=1)).date()
    first = last - timedelta(days=HISTORY_DAYS - 1)
    signups = Counter(u.created_at.date() for u in world.users)
    base = max(1.0, 60 * world.scale)
    apple: dict[date, list[dict]] = {}
    google: dict[date, dict[str, dict]] = {}
    total_user_installs = int(400_000 * world.scale)
    active = int(250_000 * world.scale)
    day = first
    while day <= last:
        boost = 1 + signups.get(day, 0) / max(1, world.scale * 5)
        rows = []
        for country, weight in APPLE_COUNTRIES:
            for ptype, factor in APPLE_PRODUCT_TYPES:
                for device, share in DEVICES:
                    units = int(rng.gauss(base * boost * factor * share * weight / 100, 1))
                    if units > 0:
                        rows.append({"country": country, "product_type": ptype, "device": device, "units": units})
        apple[day] = rows
        google[day] = {}
        for i, country in enumerate(GOOGLE_COUNTRIES):
            w = 0.85 if i == 0 else 0.025
            installs = max(0, int(rng.gauss(base * 1.3 * boost * w, 1)))
            uninstalls = max(0, int(installs * rng.uniform(0.1, 0.4)))
            total_user_installs += installs
            active += installs - uninstalls
            google[day][country] = {
                "daily_device_installs": installs,
                "daily_device_uninstalls": uninstalls,
                "daily_device_upgrades": int(rng.gauss(base * 3 * w, 1)) if base * w > 1 else 0,
                "total_user_installs": int(total_user_installs * w),
                "daily_user_installs": max(0, installs - rng.randint(0, 2)),
                "daily_user_uninstalls": uninstalls,
                "active_device_installs": int(active * w),
                "install_events": installs + rng.randint(0, 3),
                "update_events": int(base * 3 * w),
                "uninstall_events": uninstalls,
            }
        day += timedelta(days=1)
    return DownloadsSlice(apple, google, first, last)


def downloads(world: World) -> DownloadsSlice:
    return world.slice("downloads", build)
