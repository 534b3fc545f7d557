# Two entry points, both self-installing on a fresh machine:
#   make demo   sandbox APIs -> dlt -> DuckDB -> dbt build, with a summary (SCALE=1; FRESH=1 starts clean;
#               VENDOR_TIER=high-volume: the vendors' high-volume plans, for a first load above SCALE=30)
#   make test   the whole test suite (what CI runs), BigQuery emulator included
#   make demo-bigquery   the demo into a local BigQuery emulator (its own venv, .bqemu/)
# The virtual environment comes from uv.lock through uv (itself installed from PyPI).

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .uv/bin/uv
VENV := .venv
SCALE ?= 1.0
VENDOR_TIER ?= standard

BQEMU := .bqemu
BQEMU_REQUIREMENTS := sandbox/bigquery/requirements.txt

.PHONY: install bqemu demo demo-bigquery test lint format clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet uv==$(UV_VERSION)

# Bytecode is compiled here, once: where PYTHONDONTWRITEBYTECODE is set (this machine, its CI) Python never
# caches it, and every process (each pcdata step, dbt, the tests' workers) compiled Great Expectations, dbt,
# dlt and pandas again (17.5 s to import them instead of 9).
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	$(VENV)/bin/python -m compileall -q -j 0 pcdata ingestion models_ml quality warehouse sandbox bentos
	touch $@

install: $(VENV)/.synced

# The BigQuery emulator (test and demo equipment) in its own venv: it pins sqlglot and duckdb versions the
# project's cannot share. Pinned packages from the registry; the spatial extension it requires is loaded
# from the duckdb-extension-spatial wheel by sandbox/bigquery/launcher.py (`check` proves it, offline).
$(BQEMU)/.synced: $(BQEMU_REQUIREMENTS) sandbox/bigquery/launcher.py | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(BQEMU)
	$(UV) pip install --quiet --compile-bytecode --python $(BQEMU)/bin/python -r $(BQEMU_REQUIREMENTS)
	BQEMU_ENABLE_FORMAT_EXTENSIONS=false $(BQEMU)/bin/python sandbox/bigquery/launcher.py check
	touch $@

bqemu: $(BQEMU)/.synced

demo: install
	$(VENV)/bin/python -m sandbox demo --scale $(SCALE) --vendor-tier $(VENDOR_TIER) $(if $(FRESH),--fresh)

demo-bigquery: install bqemu
	$(VENV)/bin/python -m sandbox demo --scale $(SCALE) --vendor-tier $(VENDOR_TIER) --bigquery

test: install bqemu
	$(VENV)/bin/python -m pytest

# ruff (lint + format), mypy on the product's Python, sqlfluff on the dbt models (dbt templater)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/sqlfluff lint dbt_project/models dbt_project/tests

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/sqlfluff fix dbt_project/models

clean:
	-$(VENV)/bin/python -m sandbox stop
	-$(VENV)/bin/python -m sandbox appdb stop
	rm -rf .pcdata target logs
