"""Item 3: an interrupted data set (``"complete": false``) or one whose listed shards are
gone is never trained on without a word; `arvideo data info` says what is missing or was
refused."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from arvideo.data.datamodule import TokenDataModule, VideoDataModule
from arvideo.data.info import data_info


def mark_incomplete(folder):
    manifest = json.loads((folder / "dataset.json").read_text())
    manifest["complete"] = False
    (folder / "dataset.json").write_text(json.dumps(manifest))


def test_an_incomplete_clip_set_is_refused_unless_allowed(clips_copy):
    mark_incomplete(clips_copy)
    with pytest.raises(ValueError, match=r"pong.*complete.*allow_incomplete"):
        VideoDataModule(path=str(clips_copy))
    module = VideoDataModule(path=str(clips_copy), allow_incomplete=True, shuffle_buffer=0)
    assert next(iter(module.train_dataloader())).video.shape[0] == 8


def test_an_incomplete_token_set_is_refused_unless_allowed(tokens, tmp_path):
    folder = shutil.copytree(tokens, tmp_path / "tokens")
    mark_incomplete(folder)
    with pytest.raises(ValueError, match="allow_incomplete"):
        TokenDataModule(path=str(folder))
    TokenDataModule(path=str(folder), allow_incomplete=True)


def test_the_cli_takes_allow_incomplete(capsys):
    from arvideo.cli import main

    config = Path(__file__).resolve().parents[2] / "configs" / "tokenizer" / "debug_fsq.yaml"
    args = ["fit", "--config", str(config), "--data.init_args.allow_incomplete", "true"]
    with pytest.raises(SystemExit) as exit_:  # --print_config exits after printing
        main([*args, "--print_config"])
    assert exit_.value.code in (0, None)
    assert "allow_incomplete: true" in capsys.readouterr().out


def test_listed_but_missing_shards_are_named(clips_copy):
    (clips_copy / "val-000000.tar").unlink()
    module = VideoDataModule(path=str(clips_copy), allow_incomplete=True)
    with pytest.raises(FileNotFoundError, match=r"val-000000\.tar"):
        module.val_dataloader()
    module.train_dataloader()  # the train split is whole


def add_member(shard, name: str, data: bytes) -> None:
    with tarfile.open(shard, "a") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def test_data_info_reports_completeness_missing_shards_and_refused_members(clips_copy):
    mark_incomplete(clips_copy)
    (clips_copy / "val-000000.tar").unlink()
    add_member(clips_copy / "train-000000.tar", "ep000000-000000.state.pyd", b"\x80.")
    info = data_info(str(clips_copy), show=False)
    assert info.complete is False
    assert info.missing_shards == ["val-000000.tar"]
    assert info.splits["train"].refused == ["ep000000-000000.state.pyd"]
    assert info.splits["train"].clips == 8
