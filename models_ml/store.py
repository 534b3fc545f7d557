"""The BentoML store the platform registers its models in and builds its bentos from."""

from __future__ import annotations

from pathlib import Path


def use_store(home: Path) -> None:
    """Point this process's BentoML at `home` (models, bentos) before any model is read or written.

    The same mechanism BentoML's own test fixtures use; the `bentoml` CLI reads the
    same store with `BENTOML_HOME=<home>`.
    """
    from bentoml._internal.configuration.containers import BentoMLContainer

    for folder in ("models", "bentos", "envs", "tmp"):  # what BentoML creates itself when it reads BENTOML_HOME
        (home / folder).mkdir(parents=True, exist_ok=True)
    BentoMLContainer.bentoml_home.set(str(home))
