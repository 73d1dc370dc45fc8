"""Heads by name: `VideoLMConfig.head` is looked up in `HEADS`.

A new head is one file here (a `Head` subclass declaring `values`, `output_layer`,
`from_config`, and overriding `evaluations` / `confidence` where they differ) plus its entry
below; callers ask the class, never the name.
"""

from __future__ import annotations

from .base import Head
from .categorical import CategoricalHead
from .diffusion import DiffusionHead
from .velocity import VelocityHead

HEADS: dict[str, type[Head]] = {
    "categorical": CategoricalHead,
    "diffusion": DiffusionHead,
    "velocity": VelocityHead,
}


def head_class(name: str) -> type[Head]:
    """The head class registered as `name`."""
    if name not in HEADS:
        raise ValueError(f"head must be one of {sorted(HEADS)}, got {name!r}")
    return HEADS[name]
