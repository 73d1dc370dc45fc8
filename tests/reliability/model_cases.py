"""Model folders with a lying config.json (issue 18, item 8): each must be refused, naming
the folder and the field (or the weights that do not match), before a model is built.
Shared by test_bad_model_folders.py and the table."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from arvideo.model_folder import load_model_folder, save_model_folder


@dataclass
class BadFolder:
    what: str
    part: str  # "generator" or "tokenizer"
    changes: dict  # config.json fields to set (a dotted name reaches into "bottleneck")
    named: str  # what the error must contain


BAD_FOLDERS = [
    BadFolder("width 10^9", "generator", {"width": 10**9}, "'width'"),
    BadFolder("depth 10^6", "generator", {"depth": 10**6}, "'depth'"),
    BadFolder("heads 0", "generator", {"heads": 0}, "'heads'"),
    BadFolder("heads not dividing width", "generator", {"heads": 3}, "'heads'"),
    BadFolder("width True", "generator", {"width": True}, "'width'"),
    BadFolder("vocab_size -1", "generator", {"vocab_size": -1}, "'vocab_size'"),
    BadFolder("grid of 10^6 frames", "generator", {"grid": [10**6, 4, 4]}, "'grid'"),
    BadFolder("grid of 2^21 tokens", "generator", {"grid": [2048, 32, 32]}, "'grid'"),
    BadFolder("mlp_ratio 1e9", "generator", {"mlp_ratio": 1e9}, "'mlp_ratio'"),
    BadFolder("head_options hidden 10^9", "generator", {"head_options": {"hidden": 10**9}},
              "head_options.hidden"),
    BadFolder("width 64, weights of 32", "generator", {"width": 64}, "does not match"),
    BadFolder("depth 3, weights of 2", "generator", {"depth": 3}, "does not match"),
    BadFolder("num_actions 7, weights of 6", "generator", {"num_actions": 7}, "does not match"),
    BadFolder("tokenizer widths [10^9]", "tokenizer", {"widths": [10**9]}, "'widths'"),
    BadFolder("tokenizer latent_dim 0", "tokenizer", {"latent_dim": 0}, "'latent_dim'"),
    BadFolder("tokenizer norm_groups 0", "tokenizer", {"norm_groups": 0}, "'norm_groups'"),
    BadFolder("tokenizer fsq level 10^9", "tokenizer", {"bottleneck.fsq_levels": [10**9]},
              "'bottleneck.fsq_levels'"),
    BadFolder("tokenizer widths [32], weights of 16", "tokenizer", {"widths": [32]},
              "does not match"),
]  # fmt: skip


def save_tiny_folder(path: Path, parts) -> Path:
    save_model_folder(path, *parts)
    return path


def refusal(case: BadFolder, good: Path, folder: Path) -> str | None:
    """None when loading a copy of `good` with the change raised a ValueError naming the
    field (and the folder), else what happened instead."""
    shutil.copytree(good, folder)
    config_path = folder / case.part / "config.json"
    config = json.loads(config_path.read_text())
    for name, value in case.changes.items():
        *parents, last = name.split(".")
        node = config
        for parent in parents:
            node = node[parent]
        node[last] = value
    config_path.write_text(json.dumps(config))
    try:
        load_model_folder(folder)
    except ValueError as error:
        named = case.named in str(error) and str(folder / case.part) in str(error)
        return None if named else f"unnamed: {error}"[:300]
    except Exception as error:
        return f"{type(error).__name__}: {error}"[:300]
    return "accepted"
