"""Train one tokenizer YAML with overrides for N steps; print quality and token stability.

usage: token_stability.py NAME KIND STEPS [key.path=JSON ...]
  KIND picks configs/tokenizer/pong_<KIND>.yaml; each key.path=JSON overrides a field under
  model.init_args (e.g. tokenizer.encoder='"cell"'). Env: DATA (default data/pong, from
  `arvideo collect atari --game Pong --episodes 12 --seed 0`), RUNS (default runs/stability),
  THREADS (torch threads, default 1: several runs share the cores without oversubscribing).
Appends one JSON row per run to $RUNS/results.jsonl (the table in
benchmarks/results/token_stability.md was made this way).
"""

import json
import os
import sys
from pathlib import Path

import torch

from arvideo.bench.tokenizers import measure_bottleneck
from arvideo.metrics import median_background
from arvideo.training.tokenizer_runs import (
    TokenizerBudget,
    load_config,
    train_bottleneck,
    val_clips,
)

REPO = Path(__file__).resolve().parents[2]
KEYS = (
    "psnr", "foreground_psnr", "ball_visible_hit", "left_paddle_visible_hit",
    "right_paddle_visible_hit", "stable_kept", "codes_per_patch", "background_codes",
    "fraction_used", "steps", "train_s",
)  # fmt: skip


def set_path(tree: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        tree = tree.setdefault(key, {})
    tree[keys[-1]] = value


def main(name: str, kind: str, steps: str, *overrides: str) -> dict:
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    data, runs = os.environ.get("DATA", "data/pong"), Path(os.environ.get("RUNS", "runs/stability"))
    config = load_config(kind, "pong", REPO / "configs" / "tokenizer")
    for override in overrides:
        key, value = override.split("=", 1)
        set_path(config["model"]["init_args"], key, json.loads(value))
    plan = TokenizerBudget("pong", int(steps), None, 64, 64)
    trained = train_bottleneck(kind, config, data, plan, runs / name, 0, False)
    background = median_background(val_clips(data, 1, 64, "train"))
    result, _, _ = measure_bottleneck(trained, data, plan, background)
    row = {"name": name, "overrides": list(overrides), **{k: getattr(result, k) for k in KEYS}}
    with open(runs / "results.jsonl", "a") as out:
        out.write(json.dumps(row) + "\n")
    print(json.dumps(row))
    return row


if __name__ == "__main__":
    main(*sys.argv[1:])
