"""Fixtures of the reliability suite (issue 18): bad inputs must be refused, naming them.

The helper modules beside this file (shard_cases.py, ...) are plain modules shared with
benchmarks/reliability.py, which tabulates them; `load_helper` imports one by path (tests run
with --import-mode=importlib, so sibling modules are not importable by name).

The rest serve the tests of lost work and silent results (items 1-6, 13, the kill test): a
few real Pong clips, a tiny tokenizer folder, its token set and checkpoints written the way
Lightning writes them (hyperparameters as plain values, `_class_path` beside them).
Session-scoped ones are read-only: copy before mutating.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer

HERE = Path(__file__).parent
TINY_LM = dict(width=16, depth=1, heads=2, mlp_ratio=2.0, order="next_block", cond_dropout=0.0)


def load_helper(name: str):
    """Import HERE/<name>.py once, registered under its own name (dataclasses need that)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def shard_cases():
    return load_helper("shard_cases")


@pytest.fixture(scope="session")
def argument_cases():
    return load_helper("argument_cases")


@pytest.fixture(scope="session")
def tiny_models():
    return load_helper("tiny_models")


@pytest.fixture(autouse=True, scope="module")
def one_thread(single_torch_thread):
    """Tiny models on a shared 2-core machine: one thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def manifest_cases():
    return load_helper("manifest_cases")


@pytest.fixture(scope="session")
def model_cases():
    return load_helper("model_cases")


def copy_clips(pong_dir: Path, out: Path) -> Path:
    """The first train and val shard of `pong_dir`, with a manifest that lists only them."""
    out.mkdir(parents=True)
    manifest = json.loads((pong_dir / "dataset.json").read_text())
    for split in manifest["splits"].values():
        split["shards"] = split["shards"][:1]
        split["clips"] = sum(s["samples"] for s in split["shards"])
        for shard in split["shards"]:
            shutil.copy(pong_dir / shard["name"], out / shard["name"])
    manifest["clips"] = sum(s["clips"] for s in manifest["splits"].values())
    (out / "dataset.json").write_text(json.dumps(manifest))
    return out


def save_tokenizer(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    bottleneck = BottleneckConfig(kind="fsq", fsq_levels=(5, 4, 3))
    config = TokenizerConfig(widths=(8, 8, 8, 8), latent_dim=3, bottleneck=bottleneck)
    VideoTokenizer(config).eval().save_pretrained(folder)
    return folder


def save_checkpoint(cls: type, hparams: dict, path: Path) -> Path:
    """A checkpoint of `cls(**hparams)` as LightningCLI writes one (no trainer needed)."""
    module = cls(**hparams)
    class_path = f"{cls.__module__}.{cls.__qualname__}"
    state = {"state_dict": module.state_dict(), "hyper_parameters": {**hparams}}
    state["hyper_parameters"]["_class_path"] = class_path
    torch.save(state, path)
    return path


@pytest.fixture(scope="session")
def clips(pong_dir, tmp_path_factory) -> Path:
    """16 real Pong clips (8 train, 8 val); read-only."""
    return copy_clips(pong_dir, tmp_path_factory.mktemp("clips") / "pong")


@pytest.fixture
def clips_copy(clips, tmp_path) -> Path:
    """A private copy of `clips`, free to damage."""
    return Path(shutil.copytree(clips, tmp_path / "pong"))


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    return save_tokenizer(tmp_path_factory.mktemp("tokenizer") / "fsq")


@pytest.fixture(scope="session")
def tokens(clips, tokenizer_dir, tmp_path_factory) -> Path:
    """`clips` encoded by `tokenizer_dir`; read-only."""
    from arvideo.training.encode import encode

    out = tmp_path_factory.mktemp("tokens") / "fsq"
    encode(tokenizer=str(tokenizer_dir), data=str(clips), out=str(out), progress=False)
    return out


@pytest.fixture(scope="session")
def tokenizer_checkpoint(tmp_path_factory) -> Path:
    from arvideo.training.tokenizer_module import TokenizerModule

    config = TokenizerConfig(widths=(8, 8, 8, 8), latent_dim=3)
    path = tmp_path_factory.mktemp("ckpt") / "tokenizer.ckpt"
    return save_checkpoint(TokenizerModule, {"tokenizer": config.to_dict()}, path)


@pytest.fixture
def generator_checkpoint():
    """`make(token_set, path)`: a GeneratorModule checkpoint trained on nothing."""
    from arvideo.training.generator_module import GeneratorModule

    def make(token_set: Path, path: Path) -> Path:
        hparams = {"dataset": str(token_set), "lm": dict(TINY_LM)}
        return save_checkpoint(GeneratorModule, hparams, path)

    return make
