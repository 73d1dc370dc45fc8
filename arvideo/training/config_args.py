"""Dataclass arguments of the Lightning modules, as the CLI or a checkpoint hands them over.

LightningCLI instantiates dataclasses; a checkpoint's hyperparameters (used to rebuild a
module for export or resume) hold the same values as plain dicts. `as_config` accepts both.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass


def as_config(cls: type, value, name: str):
    """`value` as a `cls` dataclass: dicts are converted (through `cls.from_dict` when it has
    one), dataclasses and None pass through. Unknown keys raise, naming the argument."""
    if value is None or is_dataclass(value):
        return value
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a {cls.__name__} or a dict, got {type(value).__name__}")
    unknown = set(value) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"{name} has unknown {cls.__name__} fields: {sorted(unknown)}")
    from_dict = getattr(cls, "from_dict", None)
    return from_dict(dict(value)) if from_dict is not None else cls(**value)
