"""The matrix's comparison: key for key, and a daily snapshot taken either side of midnight is no duplicate."""

from __future__ import annotations

from datetime import date

import dlt
import pytest

from sandbox.fault_matrix import compare


def _load(home, days_and_ids: list[tuple[date, list[int]]]) -> None:
    pipeline = dlt.pipeline(
        pipeline_name="pcdata_zendesk",
        pipelines_dir=str(home / "dlt" / "pipelines"),
        destination=dlt.destinations.duckdb(str(home / "warehouse.duckdb")),
        dataset_name="raw_zendesk",
    )
    for day, ids in days_and_ids:
        rows = [{"id": i, "export_date": day, "usage_7d": i * 2} for i in ids]
        pipeline.run(rows, table_name="macros", primary_key=("id", "export_date"), write_disposition="merge")


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ([(date(2026, 11, 28), [1, 2]), (date(2026, 11, 29), [1, 2])], (0, 0)),  # the rerun came after midnight
        ([(date(2026, 11, 28), [1, 2, 3])], (0, 1)),
        ([(date(2026, 11, 28), [1, 2]), (date(2026, 11, 29), [1])], (1, 0)),  # today's snapshot lost a macro
    ],
)
def test_latest_snapshots_are_compared_without_their_day(tmp_path, candidate, expected):
    _load(tmp_path / "baseline", [(date(2026, 11, 28), [1, 2])])
    _load(tmp_path / "candidate", candidate)
    assert compare(tmp_path / "baseline", tmp_path / "candidate", {"zendesk": "raw_zendesk"}) == {"zendesk": expected}
