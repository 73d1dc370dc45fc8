"""`arvideo tokenizer export CKPT OUT_DIR`: a Lightning checkpoint -> a tokenizer folder.

The checkpoint is read with ``torch.load(weights_only=True)`` (no pickle), the
TokenizerModule is rebuilt from the checkpoint's own hyperparameters, its state dict is
loaded strictly (a missing or extra tensor is an error, never a silent partial model) and
the tokenizer alone is saved as config.json + model.safetensors, loadable with
`VideoTokenizer.from_pretrained(OUT_DIR)` without Lightning. `load_module` is shared with
the generator's export (generator_export.py). Knows checkpoints and LightningModules; knows
nothing about data.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TypeVar

import lightning as L
import torch
from lightning.pytorch.cli import instantiate_module

from arvideo.training.tokenizer_module import TokenizerModule

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
M = TypeVar("M", bound=L.LightningModule)


def resolve_checkpoint(checkpoint: str | Path) -> Path:
    """A .ckpt file as given, or a run folder's checkpoints/last.ckpt."""
    path = Path(checkpoint)
    if path.is_dir():
        path = path / LAST_CHECKPOINT
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint={str(checkpoint)!r}: the folder has no {path}")
    elif not path.is_file():
        raise FileNotFoundError(f"checkpoint={str(checkpoint)!r} is neither a file nor a folder")
    return path


def _module_class(class_path: str | None, base: type[M], checkpoint: Path) -> type[M]:
    if class_path is None:
        return base
    module_name, _, name = class_path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), name, None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"checkpoint {checkpoint} holds a {class_path}, not a {base.__name__}")
    return cls


def load_module(checkpoint: str | Path, base: type[M]) -> M:
    """Rebuild the LightningModule of a checkpoint (file or run folder), weights loaded
    strictly, in eval mode. The class is the checkpoint's own (a subclass of `base`); its
    init arguments are the saved hyperparameters, typed through jsonargparse as LightningCLI
    does (dicts become the annotated config dataclasses)."""
    path = resolve_checkpoint(checkpoint)
    state = torch.load(path, weights_only=True, map_location="cpu")
    if "state_dict" not in state or "hyper_parameters" not in state:
        raise ValueError(f"checkpoint {path} has no state_dict / hyper_parameters")
    hparams = dict(state["hyper_parameters"])
    hparams.pop("_instantiator", None)
    cls = _module_class(hparams.pop("_class_path", None), base, path)
    module = instantiate_module(cls, hparams)
    module.load_state_dict(state["state_dict"], strict=True)
    return module.eval()


def load_tokenizer_module(checkpoint: str | Path) -> TokenizerModule:
    """The TokenizerModule of a checkpoint (file or run folder), weights loaded."""
    return load_module(checkpoint, TokenizerModule)


def export_tokenizer(checkpoint: str, out: str) -> str:
    """Export the tokenizer of a TokenizerModule checkpoint as a from_pretrained folder.

    Args:
        checkpoint: a Lightning .ckpt, or a run folder (its checkpoints/last.ckpt is used).
        out: output folder; receives config.json and model.safetensors.
    """
    module = load_tokenizer_module(checkpoint)
    module.tokenizer.save_pretrained(out)
    return str(Path(out).resolve())
