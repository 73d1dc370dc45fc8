"""The numbers a generation call takes, checked before any work: each error names the
argument, the value and the accepted range.

Python lets `True` pass as an int and `float("nan")` pass every `<` test; torch takes a
2**70 seed or a NaN temperature and fails late or quietly (NaN logits sample code 0
everywhere). These checks refuse them at the door. generation_inputs.py calls them; this
module knows numbers and torch generators, nothing about models.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import replace

import torch

from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.schedules import SCHEDULES

MAX_CFG_SCALE = 100.0  # guided logits grow with the scale; far past ~10 they only saturate
SEED_RANGE = (0, 2**64)  # torch.Generator.manual_seed takes 64-bit seeds
SOLVERS = ("euler", "heun")


def whole_number(name: str, value, low: int = 1, high: int | None = None) -> int:
    """An int (numpy ints too; never a bool or a float) in [low, high)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < low or (high is not None and value >= high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high})"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return value


def real_number(name: str, value, low: float, high: float, low_open: bool = False) -> float:
    """A finite float (ints accepted, never a bool) in [low, high] ((low, high] if low_open)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    below = value <= low if low_open else value < low
    if not math.isfinite(value) or below or value > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be a finite number in {bracket}{low}, {high}], got {value}")
    return value


def sampling_settings(options: dict, defaults: SamplingSettings | None = None) -> SamplingSettings:
    """The sampling options a caller gave, each checked, over `defaults` (the model's)."""
    base = defaults or SamplingSettings()
    given = {k: v for k, v in options.items() if k in SETTINGS_CHECKS and v is not None}
    checked = {name: SETTINGS_CHECKS[name](value) for name, value in given.items()}
    if checked.get("top_k") == 0:  # explicitly every code, over a model's default top_k
        checked["top_k"] = None
    return replace(base, **checked)


def _solver(value) -> str:
    if value not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {value!r}")
    return value


def _schedule(value) -> str:
    if value not in SCHEDULES:
        raise ValueError(f"schedule must be one of {sorted(SCHEDULES)}, got {value!r}")
    return value


def _stabilization(value) -> float:
    level = real_number("stabilization", value, 0.0, 1.0)
    if level == 1.0:
        raise ValueError("stabilization must be below 1 (level 1 is pure noise: no history)")
    return level


SETTINGS_CHECKS = {
    "temperature": lambda v: real_number("temperature", v, 0.0, 1e6),
    "top_k": lambda v: whole_number("top_k", v, low=0),  # 0 = no filter
    "top_p": lambda v: real_number("top_p", v, 0.0, 1.0, low_open=True),
    "steps": lambda v: whole_number("steps", v, 1, 10_001),
    "solver": _solver,
    "schedule": _schedule,
    "uncertainty": lambda v: whole_number("uncertainty", v, 0, 10_001),
    "stabilization": _stabilization,
    "change_threshold": lambda v: real_number("change_threshold", v, 0.0, 1.0),
    "keep_threshold": lambda v: real_number("keep_threshold", v, 0.0, 1.0),
}


def cfg_scale(options: dict) -> float:
    """Guidance scale: 0 (unconditional) .. MAX_CFG_SCALE; 1 = no guidance."""
    return real_number("cfg_scale", options.get("cfg_scale", 1.0), 0.0, MAX_CFG_SCALE)


def random_generator(options: dict, device: torch.device) -> torch.Generator:
    """`generator` as given (a torch.Generator on the model's device type), else a new one
    seeded with `seed` (default 0)."""
    generator = options.get("generator")
    if generator is None:
        seed = whole_number("seed", options.get("seed", 0), *SEED_RANGE)
        return torch.Generator(device).manual_seed(seed)
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator, got {generator!r} ({type(generator).__name__})"
        )
    if generator.device.type != torch.device(device).type:
        raise ValueError(f"generator is on {generator.device}, the model on {device}")
    if options.get("seed") is not None:
        raise ValueError("give seed or generator, not both")
    return generator
