"""The source registry: every source states its window once, from its own settings."""

import inspect

from ingestion.registry import SOURCES
from ingestion.sources.dms import dms


def test_every_source_states_what_each_run_asks_again():
    assert all(spec.window for spec in SOURCES.values())
    assert all(spec.window in spec.description for spec in SOURCES.values())  # what `pcdata sources` prints


def test_a_window_is_read_off_the_source_settings_not_restated():
    default = inspect.signature(dms).parameters["lookback_minutes"].default
    assert f"lookback_minutes={default} minutes" in SOURCES["dms"].window
