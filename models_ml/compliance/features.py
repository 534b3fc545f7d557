"""The compliance model's features: one definition shared by training and serving.

The service receives the back office's flat offer JSON; `feature_rows` turns such
records (or the training mart's rows) into the rows CatBoost expects, with the
same filling rules on both sides. Plain lists, not a DataFrame: building a
one-row frame costs ten times the prediction itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from catboost import Pool

TEXT_FEATURES = ["offer_name", "offer_description"]
CAT_FEATURES = [
    "offer_subcategory_id",
    "venue_department_code",
    "offer_type_label",
    "offer_sub_type_label",
    "rayon",
    "macro_rayon",
]
NUM_FEATURES = ["stock_quantity", "stock_price", "is_outing", "is_physical_goods"]
FEATURES = TEXT_FEATURES + CAT_FEATURES + NUM_FEATURES
LABEL = "is_rejected"  # the positive class is the rejection the reviewers look for
UNKNOWN = "unknown"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("<NA>", "NaT")


def _text(value) -> str:
    return "" if _missing(value) else str(value)


def _category(value) -> str:
    return UNKNOWN if _missing(value) or value == "" else str(value)


def _number(value) -> float:
    return math.nan if _missing(value) else float(value)  # NaN kept: CatBoost handles it


def feature_rows(
    records: Iterable[Mapping], subcategory_flags: Mapping[str, Mapping[str, bool]] | None = None
) -> list[list]:
    """Records -> rows in FEATURES order. Flags missing from a record come from its subcategory."""
    rows = []
    for record in records:
        flags = (subcategory_flags or {}).get(record.get("offer_subcategory_id") or "", {})
        rows.append(
            [_text(record.get(c)) for c in TEXT_FEATURES]
            + [_category(record.get(c)) for c in CAT_FEATURES]
            + [_number(record.get(c) if not _missing(record.get(c)) else flags.get(c)) for c in NUM_FEATURES]
        )
    return rows


def pool(rows: list[list], label: list | None = None) -> Pool:
    return Pool(
        rows,
        label=label,
        feature_names=FEATURES,
        cat_features=[FEATURES.index(c) for c in CAT_FEATURES],
        text_features=[FEATURES.index(c) for c in TEXT_FEATURES],
    )
