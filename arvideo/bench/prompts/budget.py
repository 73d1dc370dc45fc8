"""The prompt benchmark's presets and the paradigms it compares.

Each paradigm is a recipe: the tokenizer YAML it encodes with, the generator YAML it trains
from (configs/tokenizer/shapes_*.yaml, configs/lm/shapes_text_*.yaml) and the sampling options
it generates with. A preset fixes everything else: the data, the step counts (None = the
YAML's), the prompts scored, the CFG sweep and the seeds. `smoke` takes seconds (tests);
`full` is the committed run (≤ 30 minutes of training on 2 CPU cores).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


@dataclass(frozen=True)
class Recipe:
    name: str  # the paradigm, order_head, with "_label" when it is label-conditioned
    tokenizer: str  # configs/tokenizer/shapes_<tokenizer>.yaml; also its folder under runs
    sampling: dict = field(default_factory=dict)  # VideoGenerator options (besides CFG)
    # what the generator is given: the caption, or the combination's class id (a label
    # names only combinations seen in training: label recipes skip the unseen split)
    condition: Literal["text", "label"] = "text"
    # the guidance its targets are read at (scale, schedule), chosen on train-split captions,
    # never on the val / unseen ones it is scored on (results/prompt_guidance.md)
    guidance: tuple[float, str] = (1.0, "constant")
    # score every caption of each split, not the preset's first few: fast samplers only
    all_captions: bool = False

    @property
    def paradigm(self) -> str:
        return self.name.removesuffix("_label")

    @property
    def generator_config(self) -> Path:
        return CONFIGS / "lm" / f"shapes_{self.condition}_{self.paradigm}.yaml"

    @property
    def tokenizer_config(self) -> Path:
        return CONFIGS / "tokenizer" / f"shapes_{self.tokenizer}.yaml"


# categorical: temperature 0.5 with 8 refinement steps per frame (MaskGIT order), so a frame's
# tokens see the ones already drawn. On the same val / unseen captions at 2,400 steps, CFG 1
# (benchmarks/experiments/prompt_levers.py; chosen where it is also reported, so read it as
# an upper bound): T=1 with 4 steps 0.625 / 0.573, T=0.5 with 8 steps 0.771 / 0.573, greedy
# with 8 steps 0.833 / 0.521 but two seeds draw the same clip (no diversity)
CATEGORICAL_SAMPLING = {"temperature": 0.5, "refine_steps": 8}
# next_token draws one token per step, each seeing the frame's tokens before it: plain
# sampling at temperature 1, the model's default, chosen by no one. Guidance 1.5 was chosen
# on 48 train-split captions (1.5 and 3 constant tied at 0.854, scale 1 0.781; the smaller
# taken). It generates 192 clips in ~15 s, so it is scored on every caption (600 / 480 clips
# in the full preset): 48 captions leave ±0.05, wider than the effects measured.
TOKEN_SAMPLING = {"temperature": 1.0}
TOKEN_GUIDANCE = (1.5, "constant")
RECIPES = {
    recipe.name: recipe
    for recipe in (
        Recipe("next_block_categorical", "vq", CATEGORICAL_SAMPLING),
        Recipe("next_frame_flow_velocity", "continuous", {}),  # the YAML's 10 Euler steps
        # the same generator given the combination's class id instead of its caption
        Recipe("next_block_categorical_label", "vq", CATEGORICAL_SAMPLING, condition="label"),
        Recipe(
            "next_token_categorical",
            "vq",
            TOKEN_SAMPLING,
            guidance=TOKEN_GUIDANCE,
            all_captions=True,
        ),
        Recipe(
            "next_token_categorical_label",
            "vq",
            TOKEN_SAMPLING,
            condition="label",
            guidance=TOKEN_GUIDANCE,
            all_captions=True,
        ),
    )
}


@dataclass(frozen=True)
class DataShape:
    """The prompt-shapes data set (`collect_prompt_shapes` arguments)."""

    clips: int
    unseen_clips: int
    size: int = 32
    clip_length: int = 8
    min_radius: float = 0.16
    max_radius: float = 0.22
    min_speed: float = 1.0
    max_speed: float = 2.5
    # the first frame follows from the caption (up to size and background): a model drawn
    # from text must still place it, and next_block draws a frame's tokens in parallel
    start: str = "behind"


@dataclass(frozen=True)
class PromptBudget:
    data: DataShape
    tokenizer_steps: int | None  # None: the YAML's max_steps
    generator_steps: int | None
    prompts: int  # captions scored per split (val: seen combinations; unseen)
    seeds: int  # samples per caption (accuracy pools them; diversity compares them)
    diversity_prompts: int  # seen captions whose samples are compared across seeds
    cfg_scales: tuple[float, ...] = (1.0, 1.5, 3.0, 5.0)
    schedules: tuple[str, ...] = ("constant", "linear")  # lm/guidance.py; linear = ramp
    headline: tuple[float, str] = (3.0, "constant")  # the setting the targets are read at
    sheet_prompts: int = 4  # per split in the sample grid
    # trainer overrides, e.g. tiny widths for smoke ("--model.init_args.lm.width", "16")
    tokenizer_args: tuple[str, ...] = ()
    generator_args: tuple[str, ...] = ()


SMOKE_MODEL = ("--model.init_args.lm.width", "16", "--model.init_args.lm.depth", "1",
               "--model.init_args.lm.heads", "2")  # fmt: skip
SMOKE_DATA = ("--data.init_args.batch_size", "2", "--data.init_args.shuffle_buffer", "4")


def budget_preset(name: Literal["smoke", "full"]) -> PromptBudget:
    if name == "smoke":
        return PromptBudget(
            DataShape(clips=20, unseen_clips=12), tokenizer_steps=2, generator_steps=2,
            prompts=4, seeds=2, diversity_prompts=2, sheet_prompts=2,
            tokenizer_args=SMOKE_DATA, generator_args=SMOKE_MODEL + SMOKE_DATA,
        )  # fmt: skip
    if name == "full":
        # 3,000 seen clips (2,700 train: 75 per seen combination; 300 val), 20 per held-out one
        return PromptBudget(
            DataShape(clips=3000, unseen_clips=240), tokenizer_steps=None, generator_steps=None,
            prompts=48, seeds=2, diversity_prompts=24,
        )  # fmt: skip
    raise ValueError(f"preset must be 'smoke' or 'full', got {name!r}")
