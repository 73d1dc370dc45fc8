"""Item 13: a checkpoint's `_class_path` is checked against arvideo's own module classes
before anything is imported (a hostile path once imported `this` and printed its poem)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from arvideo.training.export import export_tokenizer
from arvideo.training.generator_export import export_generator

PROBE = "arvideo_probe_module"
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tokenizer" / "debug_fsq.yaml"


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """A module that leaves a file behind when imported; returns that file's path."""
    mark = tmp_path / "imported"
    (tmp_path / f"{PROBE}.py").write_text(
        f"from pathlib import Path\nPath({str(mark)!r}).touch()\nclass Thing:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield mark
    sys.modules.pop(PROBE, None)


def hostile_checkpoint(path, class_path: str):
    state = {"state_dict": {}, "hyper_parameters": {"_class_path": class_path}}
    torch.save(state, path)
    return path


@pytest.mark.parametrize("export", [export_tokenizer, export_generator])
def test_export_refuses_a_foreign_class_without_importing_it(export, probe, tmp_path):
    checkpoint = hostile_checkpoint(tmp_path / "x.ckpt", f"{PROBE}.Thing")
    with pytest.raises(ValueError, match=rf"{PROBE}\.Thing.*x\.ckpt|x\.ckpt.*{PROBE}\.Thing"):
        export(str(checkpoint), str(tmp_path / "out"))
    assert not probe.exists(), "the module named by the checkpoint was imported"
    assert not (tmp_path / "out").exists()


def test_export_refuses_a_stdlib_class_path(tmp_path):
    checkpoint = hostile_checkpoint(tmp_path / "x.ckpt", "this.Nothing")
    sys.modules.pop("this", None)
    with pytest.raises(ValueError, match="this.Nothing"):
        export_tokenizer(str(checkpoint), str(tmp_path / "out"))
    assert "this" not in sys.modules


def test_nested_class_paths_are_checked_too(tmp_path, probe):
    from arvideo.training.module_classes import check_class_paths

    hparams = {"lm": {"head_options": {"class_path": f"{PROBE}.Thing"}}}
    with pytest.raises(ValueError, match=rf"lm\.head_options\.class_path.*{PROBE}"):
        check_class_paths(hparams, tmp_path / "x.ckpt")
    assert not probe.exists()


def test_fit_refuses_a_nested_class_path_before_importing(probe, clips, tmp_path):
    """The checkpoint names the right module, but one of its arguments names a class that
    jsonargparse would import while parsing the checkpoint's hyperparameters."""
    from arvideo.cli import main
    from arvideo.training.tokenizer_module import TokenizerModule

    checkpoint = tmp_path / "x.ckpt"
    hparams = {
        "_class_path": f"{TokenizerModule.__module__}.TokenizerModule",
        "tokenizer": {"class_path": f"{PROBE}.Thing"},
    }
    torch.save({"state_dict": {}, "hyper_parameters": hparams}, checkpoint)
    with pytest.raises(ValueError, match=rf"tokenizer\.class_path.*{PROBE}"):
        main(["fit", "--config", str(CONFIG), "--data.init_args.path", str(clips),
              f"--ckpt_path={checkpoint}", f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip
    assert not probe.exists(), "the module named by the checkpoint was imported"
