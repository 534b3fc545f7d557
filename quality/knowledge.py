"""What we know of the raw data beyond its dlt schema: enums, columns that may be in the future or
negative, non-personal addresses, load schedules. Keys are `dataset.table.column` (or `dataset`).

The dlt schema gives columns, types, primary keys and NOT NULL; these facts come from the vendors'
contracts (shared/reference/SOURCES.md) and the app's own enums. A fact about a table that is not
loaded is simply unused.
"""

from __future__ import annotations

import re

BLOCK, WARN = "critical", "warning"  # GE's FailureSeverity values: a 'critical' failure blocks the pipeline

# Enumerations: (allowed values, severity). The app's enums gate the marts (block); a vendor adding a
# value is drift to look at, not corrupt data (warn).
VALUE_SETS: dict[str, tuple[list, str]] = {
    "raw_app.booking.status": (["CONFIRMED", "USED", "CANCELLED", "REIMBURSED"], BLOCK),
    "raw_app.booking.cancellation_reason": (
        ["BENEFICIARY", "OFFERER", "EXPIRED", "FRAUD", "BACKOFFICE", "REFUSED_BY_INSTITUTE"],
        WARN,
    ),
    "raw_app.deposit.type": (["GRANT_15_17", "GRANT_17_18", "GRANT_18"], BLOCK),
    "raw_app.deposit.source": (["dms", "educonnect", "ubble"], WARN),
    "raw_app.offer.validation": (["DRAFT", "PENDING", "VALIDATED", "REJECTED"], BLOCK),
    "raw_app.offer.last_validation_type": (["AUTO", "MANUAL", "CGU_INCOMPATIBLE_PRODUCT"], WARN),
    "raw_app.offerer.validation_status": (["NEW", "PENDING", "VALIDATED", "REJECTED", "CLOSED"], WARN),
    "raw_app.user.civility": (["M.", "Mme"], WARN),
    "raw_app.user.roles": (["BENEFICIARY", "UNDERAGE_BENEFICIARY", "USER", "PRO", "ADMIN"], WARN),
    # the app's tracking plan (what the marts read) and the events Firebase collects by itself: a new name
    # is a tracking-plan change to look at, not corrupt data
    "raw_firebase.events.event_name": (
        [
            "ConsultOffer",
            "HasAddedOfferToFavorites",
            "BookingConfirmation",
            "first_open",
            "session_start",
            "screen_view",
            "user_engagement",
            "app_update",
            "os_update",
            "app_remove",
            "app_exception",
            "notification_receive",
            "notification_open",
        ],
        WARN,
    ),
    "raw_firebase.events.platform": (["ANDROID", "IOS", "WEB"], BLOCK),
    "raw_api_adresse.user_address.result_status": (["ok", "not-found", "error"], WARN),
    "raw_api_adresse.user_address.result_type": (["housenumber", "street", "locality", "municipality"], WARN),
    "raw_appsflyer.installs.platform": (["ios", "android"], WARN),
    "raw_appsflyer.in_app_events.platform": (["ios", "android"], WARN),
    "raw_adage.involved_students.metric_name": (["regions", "academies", "departements"], BLOCK),
    "raw_dms.dossiers.state": (["en_construction", "en_instruction", "accepte", "refuse", "sans_suite"], WARN),
    "raw_zendesk.tickets.status": (["new", "open", "pending", "hold", "solved", "closed"], WARN),
    "raw_zendesk.tickets.priority": (["low", "normal", "high", "urgent"], WARN),
    "raw_zendesk.tickets.type": (["question", "incident", "problem", "task"], WARN),
    "raw_zendesk.users.role": (["end-user", "agent", "admin"], WARN),
    "raw_zendesk.satisfaction_ratings.score": (["offered", "unoffered", "good", "bad"], WARN),
    "raw_brevo.transactional_events.event": (
        [
            "requests",
            "delivered",
            "hardBounces",
            "softBounces",
            "blocked",
            "spam",
            "invalid",
            "deferred",
            "clicks",
            "opened",
            "uniqueOpened",
            "unsubscribed",
            "error",
            "loadedByProxy",
        ],
        WARN,
    ),
    "raw_sirene.etablissements.etat_administratif_etablissement": (["A", "F"], WARN),
    "raw_sirene.unites_legales.etat_administratif_unite_legale": (["A", "C"], WARN),
}

# Dates that are legitimately in the future; every other date or timestamp column must not be.
FUTURE_OK = {
    "raw_app.deposit.expiration_date": "a grant expires years after it is given",
    "raw_app.stock.beginning_datetime": "events are booked before they happen",
    "raw_zendesk.tickets.due_at": "a task's due date",
}
FUTURE_TOLERANCE_HOURS = 24  # vendor clocks and time zones (a day's report may be stamped tomorrow in UTC+14)

# Numeric columns that must be >= 0, by name (amounts, prices, counts, durations, audiences).
NON_NEGATIVE = re.compile(
    r"(^|_)(amount|price|cost|revenue|proceeds|quantity|units|count|counter|installs|uninstalls|upgrades|events|"
    r"sessions|clicks|impressions|sent|delivered|views|reach|likes|comments|shares|saved|bounces|complaints|"
    r"unsubscriptions|audience|followers|follows|interactions|opens?|errors|reengaged|students|institutions|"
    r"duration|seconds|rows|usage|users|visits|activity|clickers|watched)(_|$)"
)
MAY_BE_NEGATIVE = {
    "raw_downloads.apple_sales.units": "refunds are reported as negative units",
    "raw_downloads.apple_sales.developer_proceeds": "refunds are reported as negative proceeds",
    "raw_downloads.apple_sales.customer_price": "refunds are reported at a negative price",
}
# Ratios reported as a fraction (not a percentage) by their vendor.
FRACTION = re.compile(r"(_rate|^percentage)$")

# Text columns that hold an e-mail address that is not personal data.
NOT_PERSONAL = {
    "raw_zendesk.tickets.recipient": "the support mailbox the ticket was sent to",
    "raw_brevo.transactional_events.message_id": "an RFC 5322 Message-ID (<id@relay host>), not a mailbox",
}
HASHED = re.compile(r"(_hash|_hashed)$")  # salted SHA-256 of a personal identifier (ingestion/sources/pii.py)

# Hours after which a dataset's last successful load is stale (warn) and too old to build marts on (block):
# every source is loaded daily; the same figures as the `freshness:` blocks of the _<source>__sources.yml files.
FRESHNESS_HOURS: dict[str, tuple[int, int]] = {}
DEFAULT_FRESHNESS_HOURS = (26, 50)

# Row volume against the median of the previous accepted loads: a drop below LOW or a jump above HIGH times
# that median fails; SLACK rows absorb the noise of small tables.
VOLUME_LOW, VOLUME_HIGH, VOLUME_SLACK, VOLUME_RUNS = 0.5, 3.0, 10, 5

# Latitude/longitude boxes of France: metropole and Corsica, then each overseas department and collectivity.
FRANCE_BOXES = [
    (41.3, 51.2, -5.3, 9.7),  # metropole, Corsica
    (15.8, 16.6, -61.9, -60.9),  # Guadeloupe
    (14.3, 14.9, -61.3, -60.8),  # Martinique
    (2.1, 5.8, -54.7, -51.6),  # Guyane
    (-21.4, -20.8, 55.2, 55.9),  # La Réunion
    (-13.1, -12.6, 44.9, 45.4),  # Mayotte
    (46.7, 47.2, -56.5, -56.1),  # Saint-Pierre-et-Miquelon
    (17.8, 18.2, -63.2, -62.7),  # Saint-Barthélemy, Saint-Martin
    (-14.4, -13.1, -178.3, -176.1),  # Wallis-et-Futuna
    (-28.0, -7.8, -155.0, -134.0),  # Polynésie française
    (-23.0, -19.5, 163.5, 168.2),  # Nouvelle-Calédonie
]

EMAIL_RE = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# French numbers (0X, +33, 0033) and any E.164 number, not inside a longer run of letters or digits (hashes, SIRETs)
PHONE_RE = (
    r"(^|[^0-9A-Za-z])((\+|00)33 ?[1-9]|0[1-9])([ .-]?[0-9]{2}){4}([^0-9A-Za-z]|$)"
    r"|(^|[^0-9A-Za-z])\+[1-9][0-9]{9,13}([^0-9A-Za-z]|$)"
)
