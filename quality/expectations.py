"""Our own Great Expectations expectation: every column's type in one check per table.

GE's ExpectColumnValuesToBeInTypeList is one expectation per column (about a thousand for the raw
layer, at some 70 ms of GE overhead each); the table's column types are one metric, so one
expectation per table reads them once and names every retyped column.
"""

from __future__ import annotations

from typing import ClassVar

from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.type_comparison import compare_column_type_list


class ExpectTableColumnTypesToMatch(BatchExpectation):
    """Each listed column has one of the types given for it (schema drift: a retyped column)."""

    column_types: dict[str, list[str]]

    metric_dependencies: ClassVar[tuple[str, ...]] = ("table.column_types",)
    success_keys: ClassVar[tuple[str, ...]] = ("column_types",)
    args_keys: ClassVar[tuple[str, ...]] = ("column_types",)

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
        actual = {c["name"]: c["type"] for c in metrics["table.column_types"]}
        retyped = {}
        for column, names in self.column_types.items():
            if column not in actual:
                continue  # a missing column is ExpectTableColumnsToMatchSet's to report
            ok, observed = compare_column_type_list(execution_engine, actual[column], names)
            if not ok:
                retyped[column] = f"{observed} (expected {' or '.join(names[:2])})"
        return {"success": not retyped, "result": {"observed_value": retyped or "as expected"}}
