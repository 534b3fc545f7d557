"""Column hints for dlt resources.

A new dict on every call: dlt completes a hint in place (it adds the column's
name), so one dict shared by several columns would give them all the last name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns


def column(data_type: str, **extra) -> TColumnSchema:
    return cast(TColumnSchema, {"data_type": data_type, **extra})


def columns(names: Iterable[str], data_type: str) -> TTableSchemaColumns:
    return {name: column(data_type) for name in names}
