"""Pseudonymisation of personal identifiers, done at load time.

Identifiers that must still join across sources (emails, addresses) are
replaced by a salted SHA-256; the salt is a secret (`PII_SALT`, or `pii_salt`
in .dlt/secrets.toml) so the hashes cannot be reversed by hashing a list of
known values.
"""

from __future__ import annotations

import hashlib

import dlt


def pii_salt() -> str:
    salt: str | None = dlt.secrets.get("pii_salt")
    if not salt:
        raise RuntimeError("the secret pii_salt is not set (env PII_SALT or pii_salt in .dlt/secrets.toml)")
    return str(salt)


def pseudonymise(value: str | None, salt: str) -> str | None:
    if value is None:
        return None
    return hashlib.sha256((salt + value.strip(" ").lower()).encode("utf-8")).hexdigest()
