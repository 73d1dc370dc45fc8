"""Train one LightningModule under a step / wall-clock budget, for the benchmarks.

Every benchmark that compares trained models (tokenizer bottlenecks, generator paradigms)
trains each candidate through `train_module`, so they all get the same recipe around the
module: CPU fp32 or CUDA bf16 autocast, the same budget, a CSV log under the run folder, no
progress bar unless asked, and the final metrics measured after training. It knows nothing
about what the module trains; the module and data module are built by the caller (with the
schedule length the budget implies).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger


@dataclass(frozen=True)
class Budget:
    """Training stops at whichever limit comes first."""

    max_steps: int  # optimiser steps (Lightning global steps)
    max_minutes: float | None = None  # wall clock for fit(); None = steps only

    def __post_init__(self) -> None:
        if self.max_steps < 1:
            raise ValueError(f"Budget.max_steps={self.max_steps} must be >= 1")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"Budget.max_minutes={self.max_minutes} must be > 0 or None")


@dataclass
class TrainedRun:
    module: L.LightningModule  # the trained module, on CPU, in eval mode
    steps: int  # global steps actually taken (fewer than max_steps when the clock ran out)
    wall_s: float  # seconds spent in fit()
    metrics: dict[str, float] = field(default_factory=dict)  # final logged values
    log_dir: Path | None = None  # where metrics.csv was written


def trainer_precision(accelerator: str) -> str:
    """bf16 autocast on CUDA, plain fp32 elsewhere (the library's rule)."""
    return "bf16-mixed" if accelerator == "gpu" else "32-true"


def pick_accelerator(accelerator: str = "auto") -> str:
    if accelerator == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    if accelerator not in ("cpu", "gpu"):
        raise ValueError(f"accelerator={accelerator!r}; use 'auto', 'cpu' or 'gpu'")
    return accelerator


def train_module(
    module: L.LightningModule,
    datamodule: L.LightningDataModule,
    budget: Budget,
    root: str | Path,
    validate: bool = True,
    progress: bool = False,
    accelerator: str = "auto",
    limit_val_batches: int | float = 1.0,
) -> TrainedRun:
    """Fit `module` on `datamodule` within `budget`; logs under `root`.

    Args:
        validate: run one validation pass after training, so `metrics` holds the final
            model's val/* values (no validation runs during training).
        progress: show Lightning's progress bar.
        accelerator: 'auto' (CUDA when available), 'cpu' or 'gpu'.
        limit_val_batches: batches (int) or fraction of the val split for that final pass.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    accelerator = pick_accelerator(accelerator)
    logger = CSVLogger(str(root), name="", version="")
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=1,
        precision=trainer_precision(accelerator),
        max_steps=budget.max_steps,
        max_epochs=-1,  # shard streams are short: the budget, not epochs, ends training
        max_time=None if budget.max_minutes is None else {"minutes": budget.max_minutes},
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=logger,
        log_every_n_steps=max(1, min(50, budget.max_steps // 10)),
        enable_checkpointing=False,
        enable_progress_bar=progress,
        enable_model_summary=False,
        default_root_dir=str(root),
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule)
    wall_s = time.perf_counter() - start
    metrics = _floats(trainer.callback_metrics)
    if validate:
        checker = L.Trainer(
            accelerator=accelerator,
            devices=1,
            precision=trainer_precision(accelerator),
            limit_val_batches=limit_val_batches,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=progress,
            enable_model_summary=False,
        )
        for results in checker.validate(module, datamodule=datamodule, verbose=False):
            metrics.update(_floats(results))
    module = module.cpu().eval()
    return TrainedRun(module, trainer.global_step, wall_s, metrics, Path(logger.log_dir))


def _floats(values: dict) -> dict[str, float]:
    """Logged values (tensors or numbers) -> plain floats; inf / nan are kept."""
    return {
        name: float(value.detach().float()) if torch.is_tensor(value) else float(value)
        for name, value in values.items()
    }
