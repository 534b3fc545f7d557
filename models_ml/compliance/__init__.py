"""Offer compliance: a CatBoost classifier of manual-review outcomes (validated / rejected)."""

MODEL_NAME = "compliance_catboost"
