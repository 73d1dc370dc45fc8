"""The model folder: strict loading, clear errors naming the path, consistency checks."""

from __future__ import annotations

import json
import shutil

import pytest

from arvideo.generate import VideoGenerator
from arvideo.model_folder import (
    ModelFolderError,
    ModelInfo,
    load_model_folder,
    save_model_folder,
)


def test_round_trip_and_info(model_dir):
    folder = load_model_folder(model_dir)
    assert folder.info.frame_size == (16, 16) and folder.info.game == "Pong"
    assert folder.info.action_meanings[2] == "RIGHT"
    raw = json.loads((model_dir / "arvideo.json").read_text())
    assert raw["format"] == 1 and raw["frame_size"] == [16, 16] and raw["clip_frames"] == 4
    assert ModelInfo.from_json(raw) == folder.info
    assert not folder.lm.training and not folder.tokenizer.training


def test_missing_folder_and_files(model_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        VideoGenerator.from_pretrained(tmp_path / "nowhere")
    for name in ("arvideo.json", "tokenizer/config.json", "generator/config.json"):
        copy = tmp_path / name.replace("/", "_")
        shutil.copytree(model_dir, copy)
        (copy / name).unlink()
        with pytest.raises(FileNotFoundError, match=name):
            load_model_folder(copy)


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("arvideo.json", "{not json", "arvideo.json"),
        ("arvideo.json", json.dumps({"format": 2, "frame_size": [16, 16]}), "arvideo.json"),
        ("arvideo.json", json.dumps({"format": 1, "frame_size": [16, 16], "x": 1}), "arvideo.json"),
        ("generator/model.safetensors", "garbage", "generator"),
        ("tokenizer/model.safetensors", "garbage", "tokenizer"),
        ("generator/config.json", json.dumps({"width": "wide"}), "generator"),
    ],
)
def test_corrupt_folder_names_the_path(model_dir, tmp_path, name, content, where):
    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    (copy / name).write_text(content)
    with pytest.raises(ModelFolderError, match=where):
        load_model_folder(copy)


def test_inconsistent_pieces_are_refused(builders, tmp_path):
    tokenizer, lm, info = builders
    with pytest.raises(ValueError, match="latent grid"):
        save_model_folder(tmp_path / "a", tokenizer(), lm(), info(frame_size=(32, 32)))
    with pytest.raises(ValueError, match="vocab"):
        save_model_folder(tmp_path / "b", tokenizer(), lm(vocab_size=10), info())
    with pytest.raises(ValueError, match="action_meanings"):
        save_model_folder(tmp_path / "c", tokenizer(), lm(num_actions=3), info())
    save_model_folder(tmp_path / "d", tokenizer(), lm(), info())
    with pytest.raises(FileExistsError, match="overwrite"):
        save_model_folder(tmp_path / "d", tokenizer(), lm(), info())
    save_model_folder(tmp_path / "d", tokenizer(), lm(), info(fps=30), overwrite=True)
    assert load_model_folder(tmp_path / "d").info.fps == 30
