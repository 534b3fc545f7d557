"""The recommender: retrieval (co-occurrence, latent factors, popularity, trends) -> CatBoost ranker -> diversity.

Trained from the `marts_ml.mrt_ml__recommendation_*` marts (`train.py`) or from any interaction
log (`evaluate.py`), evaluated offline against baselines, saved as one BentoML model (the bundle
the Recommendation API serves from).
"""

MODEL_NAME = "recommendation_bundle"
