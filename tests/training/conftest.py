"""Fixtures of the training tests: one short `arvideo fit` run, reused by several tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from arvideo.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
FIT_STEPS = 12


def fit(config: str, data: Path, root: Path, *extra: str) -> Path:
    """Run `arvideo fit` in this process; returns the run folder (root/lightning_logs/v*)."""
    main(
        [
            "fit",
            "--config",
            str(CONFIGS / "tokenizer" / config),
            "--data.init_args.path",
            str(data),
            "--trainer.default_root_dir",
            str(root),
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.enable_model_summary",
            "false",
            *extra,
        ]
    )
    return max((root / "lightning_logs").glob("version_*"), key=lambda p: p.stat().st_mtime)


@pytest.fixture
def run_fit():
    """`fit(config, data, root, *extra_args) -> run folder` (in this process)."""
    return fit


@pytest.fixture
def fit_steps() -> int:
    return FIT_STEPS


@pytest.fixture(autouse=True)
def _two_threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def fit_run(pong_dir, tmp_path_factory) -> Path:
    """A debug FSQ run of FIT_STEPS steps (validation every 6) with usage_window=7 set on the
    command line; treat as read-only."""
    root = tmp_path_factory.mktemp("fit")
    return fit(
        "debug_fsq.yaml",
        pong_dir,
        root,
        f"--trainer.max_steps={FIT_STEPS}",
        "--trainer.val_check_interval=6",
        "--trainer.log_every_n_steps=1",
        "--model.init_args.usage_window=7",
    )


@pytest.fixture(scope="session")
def small_pong(pong_dir, tmp_path_factory) -> Path:
    """The first train and the first val shard of `pong_dir` (16 clips) with its manifest,
    cut to list only those two (a listed shard that is missing is an error)."""
    out = tmp_path_factory.mktemp("small") / "pong"
    out.mkdir()
    manifest = json.loads((pong_dir / "dataset.json").read_text())
    for split in manifest["splits"].values():
        split["shards"] = split["shards"][:1]
        split["clips"] = sum(shard["samples"] for shard in split["shards"])
    for name in ("train-000000.tar", "val-000000.tar"):
        shutil.copy(pong_dir / name, out / name)
    (out / "dataset.json").write_text(json.dumps(manifest))
    return out
