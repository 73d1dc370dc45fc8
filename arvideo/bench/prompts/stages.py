"""The prompt benchmark's models, trained the way a user trains them: prompt-shapes clips
(`collect_prompt_shapes`), a tokenizer per kind and a generator per paradigm through the one
trainer (`arvideo fit` with the configs/ YAMLs), `encode`, `tokenizer export` and `export`.

Everything lives under one runs folder; a stage whose output exists is reused, so an
interrupted bench resumes where it stopped. Each trained stage leaves `stage.json` (steps
made and planned, seconds) beside its output; a reused one reports what it recorded then.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from arvideo.bench.prompts.budget import PromptBudget, Recipe


@dataclass
class StageRecord:
    name: str
    config: str  # the YAML it trained from
    steps: int  # optimizer steps made
    planned_steps: int
    seconds: float  # wall time of the training (and export) when it ran
    reused: bool = False  # True: trained by an earlier run of the bench


@dataclass
class Layout:
    """Where each stage's output lives under the runs folder."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data" / "prompt_shapes"

    def tokenizer(self, kind: str) -> Path:
        return self.root / kind / "tokenizer"

    def tokens(self, kind: str) -> Path:
        return self.root / kind / "tokens"

    def model(self, paradigm: str) -> Path:
        return self.root / paradigm / "model"


def collect_data(layout: Layout, budget: PromptBudget, seed: int) -> Path:
    from arvideo.data.prompt_shapes import collect_prompt_shapes

    if not (layout.data / "dataset.json").is_file():
        shape = budget.data
        collect_prompt_shapes(
            str(layout.data), shape.clips, shape.unseen_clips, shape.size, shape.clip_length,
            max_speed=shape.max_speed, min_speed=shape.min_speed, min_radius=shape.min_radius,
            max_radius=shape.max_radius, start=shape.start, seed=seed, progress=False,
        )  # fmt: skip
    return layout.data


def fit(config: Path, data: Path, root: Path, steps: int | None, extra, seed: int):
    """`arvideo fit --config config` on `data`, logs under `root`; returns the CLI."""
    from arvideo.training.cli import run_lightning_cli

    argv = ["fit", "--config", str(config), "--data.init_args.path", str(data),
            "--trainer.default_root_dir", str(root), "--seed_everything", str(seed),
            "--trainer.enable_progress_bar", "false"]  # fmt: skip
    if steps is not None:
        argv += ["--trainer.max_steps", str(steps)]
        argv += ["--trainer.val_check_interval", str(max(1, steps // 2))]
    return run_lightning_cli([*argv, *extra])


def _trained(name: str, config: Path, out: Path, train) -> StageRecord:
    """Run `train` (returning the CLI) unless `out` holds its record; save the record."""
    record_file = out.parent / f"{out.name}.stage.json"
    if record_file.is_file() and out.is_dir():
        return StageRecord(**{**json.loads(record_file.read_text()), "reused": True})
    start = time.perf_counter()
    cli = train()
    record = StageRecord(name, str(config.name), cli.trainer.global_step, cli.trainer.max_steps,
                         time.perf_counter() - start)  # fmt: skip
    record_file.write_text(json.dumps(asdict(record), indent=2))
    return record


def train_tokenizer(layout: Layout, kind: str, config: Path, budget: PromptBudget, seed: int):
    """The tokenizer of `kind`, exported, and the clips encoded with it."""
    from arvideo.training.encode import encode
    from arvideo.training.export import export_tokenizer

    folder = layout.tokenizer(kind)

    def train():
        cli = fit(config, layout.data, folder.parent / "runs", budget.tokenizer_steps,
                  budget.tokenizer_args, seed)  # fmt: skip
        checkpoint = cli.trainer.checkpoint_callback.last_model_path
        export_tokenizer(checkpoint, str(folder), overwrite=True)
        return cli

    record = _trained(f"tokenizer {kind}", config, folder, train)
    if not (layout.tokens(kind) / "dataset.json").is_file():
        encode(tokenizer=str(folder), data=str(layout.data), out=str(layout.tokens(kind)))
    return record


def train_generator(layout: Layout, recipe: Recipe, budget: PromptBudget, seed: int):
    from arvideo.training.generator_export import export_generator

    folder = layout.model(recipe.name)

    def train():
        cli = fit(recipe.generator_config, layout.tokens(recipe.tokenizer), folder.parent / "runs",
                  budget.generator_steps, budget.generator_args, seed)  # fmt: skip
        export_generator(cli.trainer.checkpoint_callback.last_model_path, str(folder),
                         overwrite=True)  # fmt: skip
        return cli

    return _trained(f"generator {recipe.name}", recipe.generator_config, folder, train)


def train_all(layout: Layout, recipes: list[Recipe], budget: PromptBudget, seed: int):
    """Data, each tokenizer the recipes need (once), each generator; their records."""
    collect_data(layout, budget, seed)
    records = []
    for kind in dict.fromkeys(recipe.tokenizer for recipe in recipes):
        config = next(r.tokenizer_config for r in recipes if r.tokenizer == kind)
        records.append(train_tokenizer(layout, kind, config, budget, seed))
    for recipe in recipes:
        records.append(train_generator(layout, recipe, budget, seed))
    return records
