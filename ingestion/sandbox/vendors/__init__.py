"""Vendor sandboxes, by the name of the dlt source they stand in for.

Adding a vendor: write `<source>.py` with a `VendorSandbox` subclass (routes,
auth rejection, 429 and error shapes), then add it to `VENDORS` below.
"""

from pathlib import Path

from ..framework import VendorSandbox
from .api_adresse import ApiAdresseSandbox
from .qualtrics import QualtricsSandbox
from .sirene import SireneSandbox
from .zendesk import ZendeskSandbox
from .downloads import DownloadsSandbox
from .instagram import InstagramSandbox
from .tiktok import TikTokSandbox
from .appsflyer import AppsflyerSandbox
from .adage import AdageSandbox
from .dms import DmsSandbox
from .contentful import ContentfulSandbox
from .metabase import MetabaseSandbox
from .batch import BatchSandbox
from .brevo import BrevoSandbox

VENDORS: dict[str, type[VendorSandbox]] = {
    "api_adresse": ApiAdresseSandbox,
    "sirene": SireneSandbox,
    "zendesk": ZendeskSandbox,
    "downloads": DownloadsSandbox,
    "instagram": InstagramSandbox,
    "tiktok": TikTokSandbox,
    "appsflyer": AppsflyerSandbox,
    "adage": AdageSandbox,
    "dms": DmsSandbox,
    "contentful": ContentfulSandbox,
    "metabase": MetabaseSandbox,
    "qualtrics": QualtricsSandbox,
    "batch": BatchSandbox,
    "brevo": BrevoSandbox,
}


def sandbox_api_key(vendor: str) -> str:
    """The key each sandbox accepts: a public test value, not a secret."""
    return f"sandbox-{vendor}-key"


def client_env(base_url: str, files_dir: Path) -> dict[str, str]:
    """dlt configuration that points every source at its sandbox (env var form)."""
    env = {}
    for name, cls in VENDORS.items():
        for key, value in cls.client_config(f"{base_url}/{name}", sandbox_api_key(name), files_dir).items():
            env[f"SOURCES__{name.upper()}__{key.upper()}"] = value
    return env
