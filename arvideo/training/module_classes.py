"""Which classes a checkpoint may name: arvideo's own LightningModules, checked by name.

A checkpoint's hyperparameters carry `_class_path` (LightningCLI writes it) and may hold
`class_path` entries in nested arguments. Importing a named module runs its code, so a
name is checked against the classes arvideo itself defines *before* anything is imported;
the class is then taken from memory, never from `importlib`. Knows class names; knows
nothing about checkpoints' tensors.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L

from arvideo.training.generator_module import GeneratorModule
from arvideo.training.tokenizer_module import TokenizerModule

PROJECT_PREFIXES = ("arvideo.",)  # tokenizer/ and lm/ install as arvideo.tokenizer, arvideo.lm
CLASS_PATH_KEYS = ("_class_path", "class_path")


def class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def project_modules(base: type = L.LightningModule) -> dict[str, type]:
    """class path -> class, for arvideo's LightningModules that subclass `base` (the two
    trainers and any subclass of them already defined by arvideo)."""
    found: dict[str, type] = {}
    pending: list[type] = [TokenizerModule, GeneratorModule]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if issubclass(cls, base) and class_path(cls).startswith(PROJECT_PREFIXES):
            found[class_path(cls)] = cls
    return found


def module_class(name: str | None, base: type, source: str | Path) -> type:
    """The class `name` stands for (None: `base`), when it is one of arvideo's subclasses
    of `base`; anything else is refused, naming `source`, without importing it."""
    if name is None:
        return base
    known = project_modules(base)
    if name not in known:
        raise ValueError(
            f"{source}: class path {name!r} is not one of arvideo's {base.__name__} classes "
            f"{sorted(known)}; refusing it (nothing was imported)"
        )
    return known[name]


def check_class_paths(hparams, source: str | Path, where: str = "") -> None:
    """Refuse any nested `class_path` / `_class_path` that is not an arvideo module class
    (the top-level one is the module's own class; see `module_class`)."""
    if isinstance(hparams, dict):
        for key, value in hparams.items():
            name = f"{where}.{key}" if where else str(key)
            if key in CLASS_PATH_KEYS and value not in project_modules():
                raise ValueError(
                    f"{source}: {name}={value!r} is not one of arvideo's module classes; "
                    "refusing it (nothing was imported)"
                )
            check_class_paths(value, source, name)
    elif isinstance(hparams, (list, tuple)):
        for index, value in enumerate(hparams):
            check_class_paths(value, source, f"{where}[{index}]")
