"""No secret in any log, exception chain or dlt trace, for every source: one scrubbing mechanism.

And a connection failure (refused, dropped, timed out) names the vendor, the host and the endpoint."""

import json
import logging
import os
import socket
from pathlib import Path

import pytest

from ingestion.pipeline import IngestionFailed, Runner


def _chain(exc: BaseException | None, seen=None):
    """An exception and everything it carries: causes, contexts (even suppressed), arguments."""
    seen = seen if seen is not None else set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        for arg in getattr(exc, "args", ()):
            if isinstance(arg, BaseException):
                yield from _chain(arg, seen)
        yield from _chain(exc.__context__, seen)
        exc = exc.__cause__


def _leaks(secrets: list[str], err: pytest.ExceptionInfo, caplog, settings) -> list[str]:
    found = []
    texts = {"log": caplog.text}
    for i, exc in enumerate(_chain(err.value)):
        texts[f"exception {i} {type(exc).__name__}"] = f"{exc} {exc!r} {getattr(exc, 'request', None)!r}"
        request = getattr(exc, "request", None)
        if request is not None:
            texts[f"exception {i} request url"] = str(getattr(request, "url", ""))
    for root, _, files in os.walk(settings.pipelines_dir):
        for name in files:
            path = Path(root, name)
            texts[str(path)] = path.read_bytes().decode("latin-1")
    for where, text in texts.items():
        found += [f"{where}: {secret[:4]}..." for secret in secrets if secret in text]
    return found


def test_batch_live_keys_in_the_url_path_never_leak_from_an_unreadable_page(settings, vendor, caplog, monkeypatch):
    monkeypatch.setenv("SOURCES__BATCH__MAX_ATTEMPTS", "2")
    vendor("batch").faults(rate_malformed=1.0)
    with caplog.at_level(logging.DEBUG), pytest.raises(IngestionFailed) as err:
        Runner(settings).run("batch")
    assert "unreadable page" in str(err.value) and "***" in str(err.value)
    secrets = [*json.loads(os.environ["SOURCES__BATCH__API_KEYS"]).values(), os.environ["SOURCES__BATCH__REST_API_KEY"]]
    assert _leaks(secrets, err, caplog, settings) == []


def test_a_dropped_connection_names_the_vendor_host_and_endpoint_and_leaks_nothing(
    settings, vendor, caplog, monkeypatch
):
    monkeypatch.setenv("SOURCES__BATCH__MAX_ATTEMPTS", "2")
    vendor("batch").faults(rate_drop=1.0)
    with caplog.at_level(logging.DEBUG), pytest.raises(IngestionFailed) as err:
        Runner(settings).run("batch")
    message = str(err.value)
    assert "batch: GET " in message and "/campaigns/list" in message and "127.0.0.1" in message
    assert "connection dropped" in message
    secrets = [*json.loads(os.environ["SOURCES__BATCH__API_KEYS"]).values(), os.environ["SOURCES__BATCH__REST_API_KEY"]]
    assert _leaks(secrets, err, caplog, settings) == []


@pytest.mark.parametrize("source", ["adage", "dms", "instagram", "tiktok", "zendesk", "qualtrics"])
def test_a_refused_connection_names_the_vendor_host_and_endpoint(settings, monkeypatch, caplog, source):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: refused
    monkeypatch.setenv(f"SOURCES__{source.upper()}__BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv(f"SOURCES__{source.upper()}__MAX_ATTEMPTS", "1")
    secrets = [
        v
        for k, v in os.environ.items()
        if k.startswith(f"SOURCES__{source.upper()}__") and any(w in k for w in ("KEY", "TOKEN", "SECRET"))
    ]
    with caplog.at_level(logging.DEBUG), pytest.raises(IngestionFailed) as err:
        Runner(settings).run(source)
    message = str(err.value)
    assert f"{source}: " in message and f"127.0.0.1:{port}" in message and "connection refused" in message
    assert _leaks([s for s in secrets if len(s) >= 6], err, caplog, settings) == []


def test_a_timeout_says_so_with_the_vendor_host_and_endpoint(settings, vendor, monkeypatch):
    monkeypatch.setenv("SOURCES__ADAGE__TIMEOUT", "0.5")
    monkeypatch.setenv("SOURCES__ADAGE__MAX_ATTEMPTS", "1")
    vendor("adage").faults(latency_ms=2000)
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("adage")
    message = str(err.value)
    assert "adage: GET " in message and "/partenaire-culturel" in message and "127.0.0.1" in message
    assert "timed out waiting for the answer after 0.5s" in message
