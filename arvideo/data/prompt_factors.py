"""The factors a prompt-following caption names, its phrasings, and the combinations kept
out of training.

A prompt names one shape by colour, kind and direction of motion: each factor is visible in
pixels, so a program can check a generated clip against its prompt (prompt_accuracy.py).
Captions come in several phrasings so that a model must read the words, not memorise one
string per combination. A fixed rule holds out some combinations (never in train or val) to
test composition: every colour, kind and direction, and every pair of them, is still seen
in training. This module is vocabulary only: it draws nothing and knows no pixels.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

COLORS = ("red", "green", "blue", "yellow")  # RGB values: shapes.COLORS
KINDS = ("square", "circle", "triangle")
DIRECTIONS = ("up", "down", "left", "right")
DIRECTION_VECTORS = {
    "up": (-1.0, 0.0),
    "down": (1.0, 0.0),
    "left": (0.0, -1.0),
    "right": (0.0, 1.0),
}  # fmt: skip  (dy, dx), image rows grow downwards
ADVERBS = {"up": "upward", "down": "downward", "left": "leftward", "right": "rightward"}
PHRASINGS = (
    "a {color} {kind} moving {direction}",
    "a {adverb}-moving {color} {kind}",
    "a {color} {kind} moves {direction}",
    "{color} {kind} heading {direction}",
    "the {kind} is {color} and goes {direction}",
)
# combination (color, kind, direction) is held out when the sum of its indices is 0 mod 4:
# for any two fixed factors at most one value of the third is held out, so every pair of
# factor values still appears in training (12 of the 48 combinations are held out)
UNSEEN_MODULUS = 4
UNSEEN_RULE = "(color index + kind index + direction index) % 4 == 0"


@dataclass(frozen=True)
class PromptFactors:
    """What a prompt asks for (or what a detector saw; None = nothing detected)."""

    color: str | None
    kind: str | None
    direction: str | None

    def as_list(self) -> list[str | None]:
        return [self.color, self.kind, self.direction]

    def as_dict(self) -> dict:
        return asdict(self)


FACTOR_NAMES = ("color", "kind", "direction")
FACTOR_VALUES = {"color": COLORS, "kind": KINDS, "direction": DIRECTIONS}


def all_combinations() -> list[PromptFactors]:
    return [PromptFactors(c, k, d) for c in COLORS for k in KINDS for d in DIRECTIONS]


def combination_label(factors: PromptFactors) -> int:
    """The class id of a combination (its index in `all_combinations()`, 0..47): what a
    label-conditioned model is given instead of a caption."""
    return all_combinations().index(factors)


def is_unseen(factors: PromptFactors) -> bool:
    """Whether a combination is held out of training (UNSEEN_RULE)."""
    indices = (
        COLORS.index(factors.color), KINDS.index(factors.kind),
        DIRECTIONS.index(factors.direction),
    )  # fmt: skip
    return sum(indices) % UNSEEN_MODULUS == 0


def seen_combinations() -> list[PromptFactors]:
    return [f for f in all_combinations() if not is_unseen(f)]


def unseen_combinations() -> list[PromptFactors]:
    return [f for f in all_combinations() if is_unseen(f)]


def caption(factors: PromptFactors, phrasing: int) -> str:
    """The caption of `factors` in PHRASINGS[phrasing]."""
    if not 0 <= phrasing < len(PHRASINGS):
        raise ValueError(f"phrasing must be in [0, {len(PHRASINGS)}), got {phrasing}")
    return PHRASINGS[phrasing].format(
        color=factors.color, kind=factors.kind, direction=factors.direction,
        adverb=ADVERBS[factors.direction],
    )  # fmt: skip


def parse_caption(text: str) -> PromptFactors:
    """The factors a caption names, in any phrasing (or free text naming each factor once)."""
    words = re.findall(r"[a-z]+", text.lower())
    directions = {**{d: d for d in DIRECTIONS}, **{a: d for d, a in ADVERBS.items()}}
    found = {
        "color": {w for w in words if w in COLORS},
        "kind": {w for w in words if w in KINDS},
        "direction": {directions[w] for w in words if w in directions},
    }
    for name, values in found.items():
        if len(values) != 1:
            raise ValueError(
                f"caption {text!r} must name exactly one {name} of "
                f"{FACTOR_VALUES[name]}, found {sorted(values)}"
            )
    return PromptFactors(*(values.pop() for values in found.values()))


def factors_record() -> dict:
    """The factor vocabulary and held-out combinations, as dataset.json records them."""
    return {
        "colors": list(COLORS),
        "kinds": list(KINDS),
        "directions": list(DIRECTIONS),
        "phrasings": list(PHRASINGS),
        "unseen_rule": UNSEEN_RULE,
        "unseen": [f.as_list() for f in unseen_combinations()],
    }
