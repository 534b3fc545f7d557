"""The compliance model's features: one definition shared by training and serving.

The service receives the reference's flat offer JSON; `to_frame` turns such
records (or the training mart's rows) into the frame CatBoost expects, with the
same filling rules on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
from catboost import Pool

TEXT_FEATURES = ["offer_name", "offer_description"]
CAT_FEATURES = ["offer_subcategory_id", "venue_department_code", "offer_type_label", "offer_sub_type_label", "rayon", "macro_rayon"]
NUM_FEATURES = ["stock_quantity", "stock_price", "is_outing", "is_physical_goods"]
FEATURES = TEXT_FEATURES + CAT_FEATURES + NUM_FEATURES
LABEL = "is_rejected"  # the positive class is the rejection the reviewers look for
UNKNOWN = "unknown"


def to_frame(records: Iterable[Mapping] | pd.DataFrame, subcategory_flags: Mapping[str, Mapping[str, bool]] | None = None) -> pd.DataFrame:
    """Records -> feature frame. Flags missing from a record come from its subcategory."""
    df = pd.DataFrame(records) if not isinstance(records, pd.DataFrame) else records.copy()
    for column in FEATURES:
        if column not in df:
            df[column] = None
    if subcategory_flags:
        for flag in ("is_outing", "is_physical_goods"):
            known = df["offer_subcategory_id"].map(lambda s: subcategory_flags.get(s, {}).get(flag))
            df[flag] = df[flag].where(df[flag].notna(), known)
    out = pd.DataFrame(index=df.index)
    for column in TEXT_FEATURES:
        out[column] = df[column].fillna("").astype(str)
    for column in CAT_FEATURES:
        out[column] = df[column].fillna(UNKNOWN).astype(str).replace("", UNKNOWN)
    for column in NUM_FEATURES:
        out[column] = pd.to_numeric(df[column].astype(float), errors="coerce")  # NaN kept: CatBoost handles it
    return out[FEATURES]


def pool(frame: pd.DataFrame, label: pd.Series | None = None) -> Pool:
    return Pool(frame, label=label, cat_features=CAT_FEATURES, text_features=TEXT_FEATURES)
