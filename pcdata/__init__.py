"""The `pcdata` command line: the platform's steps for people and schedulers."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # the dbt project and the bentos live beside the code
