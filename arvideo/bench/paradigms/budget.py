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
    horizon: int  # generated frames per rollout; LM clips are context + horizon long
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
    episodes: int = 3  # when collecting data here
    max_steps_per_episode: int | None = 150
    clip_length: int = 16

    def tokenizer_plan(self) -> TokenizerBudget:
        """The tokenizer benchmark's budget, for its `build_run` (its eval sizes unused:
        the tokenizers are measured here on the evaluation windows)."""
        return TokenizerBudget(
            self.tokenizer_recipe, self.tokenizer_steps, self.tokenizer_minutes, eval_clips=0,
            background_clips=0, batch_size=self.tokenizer_batch_size,
            crop_frames=self.tokenizer_frames,
        )  # fmt: skip


def budget_preset(name: Literal["smoke", "full"]) -> ParadigmBudget:
    """smoke: seconds, for tests (the debug tokenizers, two steps); full: about an hour on
    2 cores with trained tokenizers given, up to 3 × tokenizer_minutes more without."""
    if name == "smoke":
        sizes = models.ModelSizes(
            lm_width=16, lm_depth=1, lm_heads=2, diffusion_blocks=1, diffusion_steps=2
        )
        return ParadigmBudget(
            sizes, "debug", tokenizer_steps=2, generator_steps=2, batch_size=2, context_frames=2,
            horizon=3, max_train_windows=4, eval_windows=2, seeds=2,
            classifier=ClassifierConfig(width=8, features=8, steps=4, batch_size=8),
            tokenizer_batch_size=2, tokenizer_frames=2, long_horizon=6, long_windows=2,
        )  # fmt: skip
    # full, tokenizers given, 2 idle cores: 55 min measured (benchmarks/results/paradigms.md);
    # next_scale's 600 steps take 14 and 18 min (130 tokens per frame against 64), so the
    # 30-minute cap is a safety net (8 minutes had cut them to 353 and 278 steps)
    if name == "full":
        sizes = models.ModelSizes(
            lm_width=64, lm_depth=4, lm_heads=4, diffusion_blocks=3, diffusion_steps=10,
            lm_lr=1e-3, warmup_steps=40,
        )  # fmt: skip
        # the pong recipe: paddles appear after ~1000 steps, the ball after ~2000-3000
        return ParadigmBudget(
            sizes, "pong", tokenizer_steps=3000, generator_steps=600, batch_size=8,
            context_frames=4, horizon=12, max_train_windows=300, eval_windows=8, seeds=2,
            classifier=ClassifierConfig(), tokenizer_minutes=10.0,
            generator_minutes=30.0, episodes=14, max_steps_per_episode=500,
            long_horizon=128, long_windows=16,
        )  # fmt: skip
    raise ValueError(f"budget={name!r}: use 'smoke' or 'full'")
