"""One BigQuery configuration (dlt's) for every stage: each credentials method, and no silent fallback on
the machine's default Google credentials."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from warehouse import Settings
from warehouse.bigquery import BigQueryConfig
from warehouse.dbt import profile_args

PREFIX = "DESTINATION__BIGQUERY__"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):

    for key in list(os.environ):
        if key.startswith((PREFIX, "PCDATA__")):
            monkeypatch.delenv(key)
    # variables the code under test sets for its process: put back as they were afterwards
    secrets = ("TOKEN", "REFRESH_TOKEN", "CLIENT_ID", "CLIENT_SECRET")
    for key in ("BIGQUERY_EMULATOR_HOST", "NO_GCE_CHECK", *(f"DBT_ENV_SECRET_PCDATA_BIGQUERY_{s}" for s in secrets)):
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    monkeypatch.setenv("PCDATA__HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PCDATA__DESTINATION", "bigquery")
    monkeypatch.setenv(f"{PREFIX}LOCATION", "europe-west1")
    monkeypatch.setenv(f"{PREFIX}CREDENTIALS__PROJECT_ID", "pass-culture-test")

    def no_default_credentials(*args, **kwargs):
        raise AssertionError("the machine's default Google credentials were reached for")

    monkeypatch.setattr("google.auth.default", no_default_credentials)


def _service_account_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _vars(args: list[str]) -> dict:
    return json.loads(args[args.index("--vars") + 1])


def test_token_with_endpoint_reaches_the_endpoint(monkeypatch):
    monkeypatch.setenv(f"{PREFIX}CREDENTIALS__TOKEN", "a-token")
    monkeypatch.setenv(f"{PREFIX}API_ENDPOINT", "http://127.0.0.1:9999")
    config = BigQueryConfig.load()
    assert (config.method, config.project, config.location) == ("token", "pass-culture-test", "europe-west1")
    client = config.client()
    assert client._connection.API_BASE_URL == "http://127.0.0.1:9999"
    assert client.project == "pass-culture-test" and client._credentials.token == "a-token"
    args = profile_args(Settings.load())
    variables = _vars(args)
    assert variables["pcdata_bigquery_method"] == "oauth-secrets"
    assert variables["pcdata_bigquery_api_endpoint"] == "http://127.0.0.1:9999"
    assert "a-token" not in json.dumps(args)  # a secret never travels in dbt's arguments

    assert os.environ["DBT_ENV_SECRET_PCDATA_BIGQUERY_TOKEN"] == "a-token"
    assert "a-token" not in repr(config)


def test_service_account_inferred_and_written_as_a_private_key_file(monkeypatch):
    monkeypatch.setenv(f"{PREFIX}CREDENTIALS__CLIENT_EMAIL", "pcdata@pass-culture-test.iam.gserviceaccount.com")
    monkeypatch.setenv(f"{PREFIX}CREDENTIALS__PRIVATE_KEY", _service_account_key())
    config = BigQueryConfig.load()
    assert config.method == "service-account"
    assert config.credentials().service_account_email.startswith("pcdata@")
    variables = _vars(profile_args(Settings.load()))
    assert variables["pcdata_bigquery_method"] == "service-account"
    keyfile = variables["pcdata_bigquery_keyfile"]
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    assert json.loads(Path(keyfile).read_text())["project_id"] == "pass-culture-test"


def test_oauth_grant(monkeypatch):
    for key, value in {"CLIENT_ID": "id-7f3a", "CLIENT_SECRET": "secret-7f3a", "REFRESH_TOKEN": "refresh-7f3a"}.items():
        monkeypatch.setenv(f"{PREFIX}CREDENTIALS__{key}", value)
    config = BigQueryConfig.load()
    assert config.method == "oauth" and config.credentials().refresh_token == "refresh-7f3a"
    args = profile_args(Settings.load())
    assert _vars(args)["pcdata_bigquery_method"] == "oauth-secrets"
    assert "7f3a" not in json.dumps(args)


def test_no_credentials_is_an_error_not_the_machine_default():
    with pytest.raises(ValueError, match="no BigQuery credentials configured"):
        BigQueryConfig.load()


def test_machine_default_only_when_configured(monkeypatch):
    monkeypatch.setenv(f"{PREFIX}CREDENTIALS_METHOD", "default")
    config = BigQueryConfig.load()
    assert _vars(profile_args(Settings.load()))["pcdata_bigquery_method"] == "oauth"
    with pytest.raises(AssertionError, match="default Google credentials"):
        config.credentials()  # the patched google.auth.default: reached only now, as configured


def test_misconfigurations_are_named(monkeypatch):
    monkeypatch.setenv(f"{PREFIX}CREDENTIALS_METHOD", "oauth")
    with pytest.raises(ValueError, match="refresh_token"):
        BigQueryConfig.load()
    monkeypatch.setenv(f"{PREFIX}CREDENTIALS_METHOD", "token")
    monkeypatch.setenv(f"{PREFIX}CREDENTIALS__TOKEN", "t")
    monkeypatch.setenv(f"{PREFIX}CREDENTIALS_METHOD", "service-account")
    with pytest.raises(ValueError, match="private_key"):
        BigQueryConfig.load()
    monkeypatch.setenv(f"{PREFIX}CREDENTIALS_METHOD", "token")
    monkeypatch.setenv(f"{PREFIX}API_ENDPOINT", "http://127.0.0.1:1")
    assert BigQueryConfig.load().api_endpoint == "http://127.0.0.1:1"
    monkeypatch.setenv(f"{PREFIX}CREDENTIALS_METHOD", "kerberos")
    with pytest.raises(ValueError, match="credentials_method"):
        BigQueryConfig.load()
