"""`arvideo tokenizer export CKPT OUT_DIR`: a Lightning checkpoint -> a tokenizer folder.

The checkpoint is read with ``torch.load(weights_only=True)`` (no pickle), the class it
names is checked against arvideo's own before anything is imported (module_classes.py), the
TokenizerModule is rebuilt from the checkpoint's own hyperparameters, its state dict is
loaded strictly (a missing or extra tensor is an error, never a silent partial model) and
the tokenizer alone is saved as config.json + model.safetensors, loadable with
`VideoTokenizer.from_pretrained(OUT_DIR)` without Lightning; a non-empty OUT_DIR is refused
unless `--overwrite true`. `load_module` is shared with the generator's export
(generator_export.py). Knows checkpoints and LightningModules; knows nothing about data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import lightning as L
import torch
from lightning.pytorch.cli import instantiate_module

from arvideo.training.module_classes import check_class_paths, module_class
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
    cls = module_class(hparams.pop("_class_path", None), base, path)
    check_class_paths(hparams, path)
    module = instantiate_module(cls, hparams)
    module.load_state_dict(state["state_dict"], strict=True)
    return module.eval()


def load_tokenizer_module(checkpoint: str | Path) -> TokenizerModule:
    """The TokenizerModule of a checkpoint (file or run folder), weights loaded."""
    return load_module(checkpoint, TokenizerModule)


def export_tokenizer(checkpoint: str, out: str, overwrite: bool = False) -> str:
    """Export the tokenizer of a TokenizerModule checkpoint as a from_pretrained folder.

    Args:
        checkpoint: a Lightning .ckpt, or a run folder (its checkpoints/last.ckpt is used).
        out: output folder; receives config.json and model.safetensors.
        overwrite: replace the files of a non-empty folder (token sets encoded with the
            old tokenizer then no longer match it; `arvideo export` refuses them).
    """
    folder = Path(out)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())) and not overwrite:
        raise FileExistsError(
            f"out={out!r}: the tokenizer folder is not empty; pass --overwrite true to replace it"
        )
    module = load_tokenizer_module(checkpoint)
    module.tokenizer.save_pretrained(out)
    return str(Path(out).resolve())
