"""Static HTML reports for people who do not query the warehouse: one module per report.

A report is a module here with `TITLE` and `write(settings) -> Path` (the
HTML file it wrote under `settings.reports_dir / <name>`). `pcdata report NAME`
and the demo find them by module name: there is no list to update.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

from warehouse import Settings


def available() -> dict[str, ModuleType]:
    return {
        m.name: importlib.import_module(f"{__name__}.{m.name}")
        for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
        if not m.name.startswith("_")
    }


def write(settings: Settings, name: str) -> Path:
    reports = available()
    if name not in reports:
        raise KeyError(f"no report named {name!r}; known: {', '.join(reports) or 'none'}")
    return reports[name].write(settings)
