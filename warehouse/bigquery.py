"""BigQuery's one configuration, read from dlt's: every stage (dlt, dbt, quality gates, ML) connects through it.

    [destination.bigquery]
    location = "europe-west1"
    credentials_method = "service-account"   # | "oauth" | "token" | "default"
    api_endpoint = ""                        # token method only: an emulator or a proxy

    [destination.bigquery.credentials]      # in secrets.toml or env vars (DESTINATION__BIGQUERY__CREDENTIALS__...)
    project_id = "..."
    # service-account: client_email, private_key (, private_key_id, client_id)
    # oauth:           client_id, client_secret, refresh_token (a user's OAuth grant)
    # token:           token (a bearer token, sent as is, never refreshed)

The method is explicit: no stage ever falls back on the machine's default Google credentials
(`gcloud auth application-default`, the metadata server) unless `credentials_method = "default"`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

METHODS = ("service-account", "oauth", "token", "default")
TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPES = ("https://www.googleapis.com/auth/bigquery", "https://www.googleapis.com/auth/cloud-platform")
_SECRET_FIELDS = (
    "client_email",
    "private_key",
    "private_key_id",
    "client_id",
    "client_secret",
    "refresh_token",
    "token",
)


def _get(key: str) -> str | None:
    import dlt

    value: object = dlt.config.get(key) or dlt.secrets.get(key)
    return str(value) if value else None


@dataclass(frozen=True)
class BigQueryConfig:
    project: str
    location: str
    method: str
    api_endpoint: str | None
    secrets: dict[str, str]  # the method's credential fields, from destination.bigquery.credentials

    def __repr__(self) -> str:  # never print a key or a token
        return f"BigQueryConfig({self.project!r}, {self.location!r}, {self.method!r}, {self.api_endpoint!r})"

    @classmethod
    def load(cls) -> BigQueryConfig:
        section = "destination.bigquery"
        secrets = {f: v for f in _SECRET_FIELDS if (v := _get(f"{section}.credentials.{f}"))}
        method = _get(f"{section}.credentials_method") or _infer_method(secrets)
        if method not in METHODS:
            raise ValueError(f"destination.bigquery.credentials_method is {method!r}: one of {', '.join(METHODS)}")
        project = _get(f"{section}.credentials.project_id") or _get(f"{section}.project_id")
        if not project:
            raise ValueError("destination.bigquery.credentials.project_id is not set: the BigQuery project to use")
        required = {
            "service-account": ("client_email", "private_key"),
            "oauth": ("client_id", "client_secret", "refresh_token"),
            "token": ("token",),
            "default": (),
        }[method]
        missing = [f for f in required if f not in secrets]
        if missing:
            fields = ", ".join(f"destination.bigquery.credentials.{f}" for f in missing)
            raise ValueError(f"BigQuery credentials method {method!r} needs {fields}")
        endpoint = _get(f"{section}.api_endpoint")
        if endpoint and method != "token":
            raise ValueError("destination.bigquery.api_endpoint is for the 'token' credentials method only")
        return cls(project, _get(f"{section}.location") or "EU", method, endpoint, secrets)

    def credentials(self) -> Any:
        """google-auth credentials of the configured method (None: the machine's default, when so configured)."""
        if self.method == "service-account":
            from google.oauth2 import service_account

            info = {"type": "service_account", "token_uri": TOKEN_URI, "project_id": self.project, **self.secrets}
            return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        from google.oauth2.credentials import Credentials

        if self.method == "oauth":
            return Credentials(
                token=None,
                refresh_token=self.secrets["refresh_token"],
                client_id=self.secrets["client_id"],
                client_secret=self.secrets["client_secret"],
                token_uri=TOKEN_URI,
                scopes=SCOPES,
            )
        if self.method == "token":
            return Credentials(token=self.secrets["token"])  # no expiry, nothing to refresh it with: sent as is
        import google.auth

        return google.auth.default(scopes=SCOPES)[0]

    def use_endpoint(self) -> None:
        """Send this process's BigQuery clients to the configured endpoint.

        dlt builds its client without client options, so google-cloud-bigquery's own environment variable
        is the only way to redirect it; every client of the process then goes to the same endpoint.
        """
        if self.api_endpoint:
            os.environ["BIGQUERY_EMULATOR_HOST"] = self.api_endpoint
            os.environ["NO_GCE_CHECK"] = "true"  # google-auth: no metadata-server probe

    def client(self, default_query_job_config: Any = None) -> Any:
        from google.api_core.client_options import ClientOptions
        from google.cloud import bigquery

        self.use_endpoint()
        return bigquery.Client(
            project=self.project,
            credentials=self.credentials(),
            location=self.location,
            client_options=ClientOptions(api_endpoint=self.api_endpoint) if self.api_endpoint else None,
            default_query_job_config=default_query_job_config,
        )

    def dlt_destination(self) -> Any:
        import dlt

        self.use_endpoint()
        return dlt.destinations.bigquery(
            credentials=self.credentials(), project_id=self.project, location=self.location
        )

    def dbt_profile(self, keyfile: str) -> tuple[dict[str, str], dict[str, str]]:
        """profiles.yml's variables and secret environment variables (DBT_ENV_SECRET_*: dbt scrubs those
        from its logs and artifacts) for this method."""
        method = {"service-account": "service-account", "oauth": "oauth-secrets", "token": "oauth-secrets"}
        variables = {
            "pcdata_bigquery_method": method.get(self.method, "oauth"),  # dbt's 'oauth' is the machine's default
            "pcdata_bigquery_project": self.project,
            "pcdata_bigquery_location": self.location,
            "pcdata_bigquery_keyfile": keyfile,
            "pcdata_bigquery_api_endpoint": self.api_endpoint or "",
        }
        secrets = {
            "DBT_ENV_SECRET_PCDATA_BIGQUERY_TOKEN": self.secrets.get("token", "") if self.method == "token" else "",
            "DBT_ENV_SECRET_PCDATA_BIGQUERY_REFRESH_TOKEN": self.secrets.get("refresh_token", "")
            if self.method == "oauth"
            else "",
            "DBT_ENV_SECRET_PCDATA_BIGQUERY_CLIENT_ID": self.secrets.get("client_id", "")
            if self.method == "oauth"
            else "",
            "DBT_ENV_SECRET_PCDATA_BIGQUERY_CLIENT_SECRET": self.secrets.get("client_secret", "")
            if self.method == "oauth"
            else "",
        }
        return variables, secrets


def _infer_method(secrets: dict[str, str]) -> str:
    """Without an explicit method: whichever credentials are configured (never the machine's default)."""
    if "private_key" in secrets:
        return "service-account"
    if "refresh_token" in secrets:
        return "oauth"
    if "token" in secrets:
        return "token"
    raise ValueError(
        "no BigQuery credentials configured: set destination.bigquery.credentials (a service account, an OAuth "
        "refresh token or a token), or destination.bigquery.credentials_method = 'default' for the machine's own"
    )
