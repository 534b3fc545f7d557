"""Vendor sandboxes, one folder per vendor, named after the dlt source it stands in for.

Adding a vendor: a folder `<source>/` with `server.py` holding one
`VendorSandbox` subclass (routes, auth rejection, 429 and error shapes) and,
when the vendor has data of its own, `world.py` with its slice of the world.
`vendors()` finds it by the folder alone: there is no list to update.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache
from pathlib import Path

from sandbox.framework import VendorSandbox


@cache
def vendors() -> dict[str, type[VendorSandbox]]:
    """Every vendor sandbox, by name, from the folders beside this file."""
    found: dict[str, type[VendorSandbox]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}.server")
        classes = [
            c
            for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, VendorSandbox) and c is not VendorSandbox and c.__module__ == module.__name__
        ]
        if len(classes) != 1 or classes[0].name != info.name:
            raise RuntimeError(
                f"sandbox/vendors/{info.name}/server.py must define one VendorSandbox named {info.name!r}"
            )
        found[info.name] = classes[0]
    return found


def sandbox_api_key(vendor: str) -> str:
    """The key each sandbox accepts: a public test value, not a secret."""
    return f"sandbox-{vendor}-key"


def client_config(base_url: str, files_dir: Path, vendor_tier: str = "standard") -> dict[str, str]:
    """dlt configuration (env var form) that points every source at its sandbox, paced for `vendor_tier`."""
    env = {}
    for name, cls in vendors().items():
        config = cls.client_config(f"{base_url}/{name}", sandbox_api_key(name), files_dir)
        if vendor_tier == "high-volume":
            config |= cls.high_volume_client_config
        for key, value in config.items():
            env[f"SOURCES__{name.upper()}__{key.upper()}"] = value
    return env
