"""The sandbox: test and demo equipment, never part of the product.

One seeded world (`world/`) served over real HTTP by one fake server per
vendor (`vendors/<source>/`), each honouring its vendor's contract, plus the
app database written from the same world (`app_database.py`). Product code
(`ingestion`, `pcdata`, `models_ml`, `bentos`) never imports this package; the
sandbox imports product facts (the app tables, the product's steps) and points
the product at itself through dlt configuration, as a user would
(`python -m sandbox env`). `python -m sandbox demo` runs the whole platform
on it. It is not shipped in the product's wheel.
"""
