"""The BentoML store the platform registers its models in and builds its bentos from."""

from __future__ import annotations

from pathlib import Path


def use_store(home: Path) -> None:
    """Point this process's BentoML at `home` (models, bentos), even after BentoML has used another store.

    The `bentoml` CLI reads the same store with `BENTOML_HOME=<home>`.
    """
    from bentoml._internal.bento import BentoStore
    from bentoml._internal.configuration.containers import BentoMLContainer as c
    from bentoml._internal.models import ModelStore

    folders = {name: home / name for name in ("models", "bentos", "envs", "tmp")}
    for folder in folders.values():  # what BentoML creates itself when it reads BENTOML_HOME
        folder.mkdir(parents=True, exist_ok=True)
    # BentoML memoises each store the first time it is asked for (SingletonFactory): setting
    # the home alone would leave a process that already used a store writing to the old one.
    c.bentoml_home.set(str(home))
    c.model_store_dir.set(str(folders["models"]))
    c.bento_store_dir.set(str(folders["bentos"]))
    c.env_store_dir.set(str(folders["envs"]))
    c.tmp_bento_store_dir.set(str(folders["tmp"]))
    c.model_store.set(ModelStore(str(folders["models"])))
    c.bento_store.set(BentoStore(str(folders["bentos"])))
    c.tmp_bento_store.set(BentoStore(str(folders["tmp"])))
    c.cloud_config.set(home / ".yatai.yaml")
