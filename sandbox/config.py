"""Sandbox mode: the dlt configuration that points the product at the sandbox.

Sandbox mode is explicit: `python -m sandbox env` prints this configuration as
environment variables for a shell, and the sandbox's own commands (the demo)
hand it to dlt as a configuration provider placed before every other one, so a
developer's real `.dlt/secrets.toml` can never send the demo to a vendor.
The pseudonymisation salt below exists only here: the sandbox's world is fake,
and a fixed salt keeps reruns idempotent. The product has no default salt.
"""

from __future__ import annotations

import sqlalchemy as sa
from dlt.common.configuration.container import Container
from dlt.common.configuration.providers import CustomLoaderDocProvider
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

from sandbox.server import SandboxHandle
from sandbox.vendors.metabase.app_database import DATABASE as METABASE_DATABASE

SANDBOX_PII_SALT = "sandbox-only-salt"
PROVIDER_NAME = "pcdata sandbox"


def sandbox_config(handle: SandboxHandle, app_engine: sa.Engine | None) -> dict[str, str]:
    """Every key the product needs to run on this sandbox, in dlt's environment-variable form."""
    config = {**handle.client_config(), "PII_SALT": SANDBOX_PII_SALT}
    if app_engine is not None:  # the sandbox's Metabase application database lives beside the app database
        url = app_engine.url.set(database=METABASE_DATABASE).render_as_string(hide_password=False)
        config["SOURCES__METABASE__APP_DB_CREDENTIALS"] = url
    return config


def use(config: dict[str, str]) -> None:
    """Make dlt resolve `config` before env vars and TOML files, for this process only."""
    nested: dict = {}
    for key, value in config.items():
        *sections, name = key.lower().split("__")
        node = nested
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = value
    providers = Container()[PluggableRunContext].providers
    provider = CustomLoaderDocProvider(PROVIDER_NAME, lambda: nested, supports_secrets=True)
    providers.providers[:] = [provider] + [p for p in providers.providers if p.name != PROVIDER_NAME]


def forget() -> None:
    """Take back what `use` did: dlt resolves from env vars and TOML files again."""
    providers = Container()[PluggableRunContext].providers
    providers.providers[:] = [p for p in providers.providers if p.name != PROVIDER_NAME]
