"""Training a tokenizer from an `arvideo fit` YAML under a budget, outside the CLI.

What the tokenizer benchmark and the paradigm benchmark share: read a
configs/tokenizer/<prefix>_<kind>.yaml (`load_config`, refusing template placeholders),
build its TokenizerModule and VideoDataModule (`build_run`), train it through
`train_module`, save the tokenizer folder with a training record (`train_bottleneck`) and
load it back (`load_trained`); `val_clips` reads clips of a split. Knows the YAML layout
and the tokenizer's training module; nothing about metrics or reports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from arvideo.bench.report import command_line, write_json
from arvideo.data.datamodule import VideoDataModule
from arvideo.tokenizer import VideoTokenizer
from arvideo.training.budgeted import Budget, train_module
from arvideo.training.tokenizer_module import TokenizerModule

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "tokenizer"


@dataclass(frozen=True)
class TokenizerBudget:
    config_prefix: str  # configs/tokenizer/<prefix>_<kind>.yaml
    max_steps: int | None  # None: the config's trainer.max_steps
    max_minutes: float | None  # wall clock per bottleneck
    eval_clips: int  # val clips measured (the whole val split when smaller)
    background_clips: int  # train clips whose per-pixel median is the background
    batch_size: int | None = None  # None: the config's data.batch_size
    crop_frames: int | None = None  # training crop; None: the config's data.num_frames
    eval_frames: int | None = None  # frames per val clip measured; None: the whole clip


def load_config(kind: str, prefix: str, config_dir: Path) -> dict:
    path = config_dir / f"{prefix}_{kind}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"bottleneck {kind!r}: no config {path}")
    config = yaml.safe_load(path.read_text())
    _check_filled(config, path)
    return config


def _check_filled(value, path: Path) -> None:
    """Refuse template placeholders (upper-case words such as WIDTHS) left in a config."""
    if isinstance(value, dict):
        for item in value.values():
            _check_filled(item, path)
    elif isinstance(value, list):
        for item in value:
            _check_filled(item, path)
    elif isinstance(value, str) and value.isupper() and value.isalpha():
        raise ValueError(f"{path} still holds the placeholder {value!r}")


def build_run(config: dict, data: str, plan: TokenizerBudget, max_steps: int, seed: int):
    """(TokenizerModule, VideoDataModule) from a parsed `arvideo fit` YAML."""
    model_args = dict(config["model"]["init_args"])
    model_args["max_steps"] = max_steps
    data_args = dict(config["data"]["init_args"])
    data_args.update(path=data, seed=seed)
    if plan.batch_size is not None:
        data_args["batch_size"] = plan.batch_size
    if plan.crop_frames is not None:
        data_args["num_frames"] = plan.crop_frames
    return TokenizerModule(**model_args), VideoDataModule(**data_args)


def val_clips(data: str, frames: int | None, limit: int, split: str = "val") -> torch.Tensor:
    """Up to `limit` clips of a split (first `frames` frames; None: all): B×C×T×H×W in [-1, 1]."""
    module = VideoDataModule(path=data, batch_size=8, num_frames=frames, shuffle_buffer=0)
    clips, count = [], 0
    for batch in module.loader(split):
        clips.append(batch.video)
        count += len(batch)
        if count >= limit:
            break
    if not clips:
        raise ValueError(f"data={data!r} has no {split} clips")
    return torch.cat(clips)[:limit]


TRAINING_RECORD = "training.json"  # <run_dir>/<kind>/: steps and wall time of the tokenizer


@dataclass
class TrainedBottleneck:
    kind: str
    tokenizer: VideoTokenizer
    steps: int
    train_s: float
    folder: Path  # the saved tokenizer
    reused: bool


def train_bottleneck(kind, config, data, plan, run_dir, seed, progress) -> TrainedBottleneck:
    """Train from the YAML, save the tokenizer folder and its training record."""
    torch.manual_seed(seed)  # the module initialises its weights from the global generator
    max_steps = plan.max_steps or int(config.get("trainer", {}).get("max_steps", 100_000))
    module, datamodule = build_run(config, data, plan, max_steps, seed)
    run = train_module(
        module, datamodule, Budget(max_steps, plan.max_minutes), run_dir / kind,
        validate=False, progress=progress,
    )  # fmt: skip
    tokenizer = run.module.tokenizer
    if tokenizer.is_continuous:  # as TokenizerModule does at validation: normalise latents
        tokenizer.set_latent_statistics(val_clips(data, 1, 8, "train"))
    folder = run_dir / kind / "tokenizer"
    tokenizer.save_pretrained(folder)
    record = {"kind": kind, "steps": run.steps, "train_s": run.wall_s, "command": command_line()}
    write_json(run_dir / kind / TRAINING_RECORD, record)
    return TrainedBottleneck(kind, tokenizer, run.steps, run.wall_s, folder, reused=False)


def load_trained(kind_dir: Path, kind: str) -> TrainedBottleneck | None:
    """The tokenizer an earlier run saved in `kind_dir`, or None when it saved none."""
    folder, record = kind_dir / "tokenizer", kind_dir / TRAINING_RECORD
    if not (folder / "config.json").is_file() or not record.is_file():
        return None
    tokenizer = VideoTokenizer.from_pretrained(folder).eval()
    if tokenizer.config.bottleneck.kind != kind:
        found = tokenizer.config.bottleneck.kind
        raise ValueError(f"{folder} holds a {found!r} tokenizer, not {kind!r}")
    saved = json.loads(record.read_text())
    return TrainedBottleneck(kind, tokenizer, saved["steps"], saved["train_s"], folder, True)
