"""SIREN/SIRET numbers that pass the Luhn check, as INSEE's do."""

from __future__ import annotations

import random


def luhn_valid(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _complete(prefix: str) -> str:
    """Append the one check digit that makes prefix + digit Luhn-valid."""
    for d in "0123456789":
        if luhn_valid(prefix + d):
            return prefix + d
    raise AssertionError("unreachable: one digit always completes a Luhn number")


def new_siren(rng: random.Random, taken: set[str]) -> str:
    while True:
        siren = _complete(str(rng.randint(10_000_000, 99_999_999)))
        if siren not in taken:
            taken.add(siren)
            return siren


def new_siret(rng: random.Random, siren: str, taken: set[str]) -> str:
    while True:
        siret = _complete(siren + f"{rng.randint(1, 9999):04d}")
        if siret not in taken:
            taken.add(siret)
            return siret
