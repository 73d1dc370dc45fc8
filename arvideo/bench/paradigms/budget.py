"""The paradigm benchmark's budgets: the paradigms (every registered order × head) and the
numbers every one of them gets (`smoke` for tests, `full` for the committed results)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from arvideo.bench.paradigms import models
from arvideo.bench.paradigms.frame_order import ClassifierConfig
from arvideo.lm.heads import HEADS
from arvideo.lm.orders import ORDERS
from arvideo.training.tokenizer_runs import TokenizerBudget

# every pair an order accepts: the six token paradigms and the three frame denoisers
# (full_sequence_flow, next_frame_flow, diffusion_forcing with the velocity head)
PARADIGMS = [models.Paradigm(o, h) for o in ORDERS for h in HEADS if ORDERS[o].accepts(HEADS[h])]


@dataclass
class ParadigmBudget:
    """Everything the two presets change; every paradigm gets the same numbers."""

    sizes: models.ModelSizes  # generators; tokenizers are sized by their YAML
    tokenizer_recipe: str  # configs/tokenizer/<recipe>_<kind>.yaml, as `arvideo bench tokenizer`
    tokenizer_steps: int
    generator_steps: int
    batch_size: int  # generators
    context_frames: int
    horizon: int  # generated frames per rollout
    max_train_windows: int  # training windows kept (evenly spaced), bounds encoding time
    eval_windows: int
    seeds: int  # samples per evaluation window (diversity)
    classifier: ClassifierConfig  # the frame-order classifier behind order FD
    tokenizer_minutes: float | None = None  # wall-clock cap per tokenizer; steps are reported
    tokenizer_batch_size: int | None = None  # None: the YAML's data.batch_size
    tokenizer_frames: int | None = None  # training crop; None: the YAML's data.num_frames
    generator_minutes: float | None = None  # safety cap per generator; steps are reported
    long_horizon: int = 0  # long rollouts (long_rollouts.py): frames after the context; 0 = off
    long_windows: int = 0  # held-out windows they continue (one seed)
    # frames per training clip; None: context + horizon. Shorter clips train the same tokens
    # per step faster; rollouts past them slide the window (or tile, full_sequence_flow)
    train_frames: int | None = None
    episodes: int = 3  # when collecting data here (unless `frames` is set)
    frames: int | None = None  # when collecting data here: a frame budget instead of episodes
    max_steps_per_episode: int | None = 150
    clip_length: int = 16

    @property
    def train_length(self) -> int:
        """Frames per training window."""
        return self.train_frames or self.context_frames + self.horizon

    def tokenizer_plan(self) -> TokenizerBudget:
        """The tokenizer benchmark's budget, for its `build_run` (its eval sizes unused:
        the tokenizers are measured here on the evaluation windows)."""
        return TokenizerBudget(
            self.tokenizer_recipe, self.tokenizer_steps, self.tokenizer_minutes, eval_clips=0,
            background_clips=0, batch_size=self.tokenizer_batch_size,
            crop_frames=self.tokenizer_frames,
        )  # fmt: skip


def budget_preset(name: Literal["smoke", "full"]) -> ParadigmBudget:
    """smoke: seconds, for tests (the debug tokenizers, two steps); full: the main job's
    recipe for every paradigm, ~3 hours of one core for the nine generators (runs split
    with `paradigms=` and joined with `reuse=`, run.py)."""
    if name == "smoke":
        sizes = models.ModelSizes(
            lm_width=16, lm_depth=1, lm_heads=2, diffusion_blocks=1, diffusion_steps=2
        )
        return ParadigmBudget(
            sizes, "debug", tokenizer_steps=2, generator_steps=2, batch_size=2, context_frames=2,
            horizon=3, max_train_windows=4, eval_windows=2, seeds=2,
            classifier=ClassifierConfig(width=8, features=8, steps=4, batch_size=8),
            tokenizer_batch_size=2, tokenizer_frames=2, long_horizon=6, long_windows=2,
            train_frames=4,  # rollouts of 5 frames run past the clip, as the full budget's
        )  # fmt: skip
    # full: the main job's recipe for every paradigm (configs/demo: the cell-local VQ-1024
    # tokenizer and its continuous and msvq siblings, 4,000 steps; width-64 depth-4
    # generators, 2,400 steps of batch 8 on 8-frame clips, lr 1e-3) on the main job's data
    # (43,200 Pong frames), scored on 64 held-out windows x 3 seeds. Per generator ~20 min
    # on one idle core (next_scale ~2x: 130 tokens a frame against 64); the caps are safety
    # nets, and a generator they stop short says so in its steps column
    if name == "full":
        sizes = models.ModelSizes(
            lm_width=64, lm_depth=4, lm_heads=4, diffusion_blocks=3, diffusion_steps=10,
            lm_lr=1e-3, warmup_steps=50,
        )  # fmt: skip
        return ParadigmBudget(
            sizes, "cell", tokenizer_steps=4000, generator_steps=2400, batch_size=8,
            context_frames=4, horizon=12, max_train_windows=4800, eval_windows=64, seeds=3,
            classifier=ClassifierConfig(), tokenizer_minutes=45.0,
            generator_minutes=120.0, train_frames=8, frames=43_200,
            long_horizon=128, long_windows=16,
        )  # fmt: skip
    raise ValueError(f"budget={name!r}: use 'smoke' or 'full'")
