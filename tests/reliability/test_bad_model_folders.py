"""Model folders (issue 18, item 8): every size field of config.json validated (positive,
divisible, within stated maxima) and the safetensors header's shapes checked against the
config before any model is built: width 10^9 or depth 10^6 is refused in milliseconds."""

from __future__ import annotations

import shutil

import pytest

from arvideo.model_folder import ModelFolderError, load_model_folder


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory, model_cases, tiny_models):
    path = tmp_path_factory.mktemp("models") / "tiny"
    return model_cases.save_tiny_folder(path, tiny_models.tiny_parts())


def test_every_lying_config_is_refused_naming_the_field(good_folder, model_cases, tmp_path):
    outcomes = {
        case.what: model_cases.refusal(case, good_folder, tmp_path / f"m{index}")
        for index, case in enumerate(model_cases.BAD_FOLDERS)
    }
    assert {what: got for what, got in outcomes.items() if got is not None} == {}


def test_good_folder_loads_and_checks_run_before_building(good_folder, monkeypatch, tmp_path):
    assert load_model_folder(good_folder).lm.config.width == 32
    import arvideo.model_folder as folder_module

    folder = tmp_path / "copy"
    shutil.copytree(good_folder, folder)

    def never(*args, **kwargs):
        raise AssertionError("a model was built before its config was checked")

    monkeypatch.setattr(folder_module.VideoLM, "from_pretrained", never)
    (folder / "generator" / "config.json").write_text('{"width": 1000000000}')
    with pytest.raises(ModelFolderError, match="'width'"):
        load_model_folder(folder)
