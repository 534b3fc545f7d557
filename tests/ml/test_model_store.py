"""The model store a process writes to follows the last `use_store`, as the `bentoml` CLI would read it."""

from __future__ import annotations

import bentoml

from models_ml.store import use_store


def test_a_second_store_in_the_same_process_receives_the_models(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    use_store(first)
    bentoml.picklable_model.save_model("store_probe", {"n": 1})  # BentoML now holds the first store
    use_store(second)
    tag = bentoml.picklable_model.save_model("store_probe", {"n": 2}).tag

    assert (second / "models" / "store_probe" / tag.version).is_dir()
    assert len(list((first / "models" / "store_probe").iterdir())) == 2  # one version and the `latest` file
    assert bentoml.picklable_model.load_model(f"store_probe:{tag.version}") == {"n": 2}
