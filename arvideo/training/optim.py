"""AdamW with linear warm-up and cosine decay: the one optimizer recipe of arvideo's modules."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class OptimizerConfig:
    lr: float = 3e-4
    betas: tuple[float, float] = (0.9, 0.95)
    # applied to matrices only, never to norms, biases, embeddings or codebooks (decay would
    # shrink learned codes toward zero)
    weight_decay: float = 0.05
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio at max_steps
    grad_clip: float = 1.0  # global norm; 0 disables


def lr_factor(step: int, warmup_steps: int, max_steps: int, min_lr_ratio: float) -> float:
    """Multiplier of the base learning rate at `step` (max_steps <= 0: constant after warm-up)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if max_steps <= 0 or step >= max_steps:
        return 1.0 if max_steps <= 0 else min_lr_ratio
    progress = (step - warmup_steps) / max(1, max_steps - warmup_steps)
    return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def decays(name: str, parameter: nn.Parameter) -> bool:
    """Whether weight decay applies: weight matrices, not lookup tables."""
    return parameter.ndim >= 2 and "embed" not in name and "codebook" not in name


def build_optimizer(
    module: nn.Module, config: OptimizerConfig, max_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    decay, no_decay = [], []
    for name, parameter in module.named_parameters():
        if not parameter.requires_grad:
            continue
        (decay if decays(name, parameter) else no_decay).append(parameter)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.lr, betas=config.betas)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: lr_factor(step, config.warmup_steps, max_steps, config.min_lr_ratio),
    )
    return optimizer, schedule


def apply_optimizer_config(
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LambdaLR,
    config: OptimizerConfig,
) -> None:
    """Make a restored optimizer run `config` (the values the run's hyperparameters record).

    A resumed optimizer keeps the checkpoint's lr, betas and weight decay in its state, and
    the schedule its base learning rates, whatever the command line said; its moments and
    step counts are the checkpoint's and stay. The schedule's shape (warm-up, length, floor)
    is rebuilt from `config` already. On a fresh run this changes nothing."""
    schedule.base_lrs = [config.lr for _ in optimizer.param_groups]
    for group, factor in zip(optimizer.param_groups, schedule.lr_lambdas):
        group["initial_lr"] = config.lr
        group["lr"] = config.lr * factor(schedule.last_epoch)
        group["betas"] = tuple(config.betas)
    optimizer.param_groups[0]["weight_decay"] = config.weight_decay  # build_optimizer's order


def apply_to_trainer_optimizers(module, config: OptimizerConfig) -> None:
    """`apply_optimizer_config` for every optimizer of `module`'s trainer."""
    trainer = module.trainer
    for optimizer, scheduled in zip(trainer.optimizers, trainer.lr_scheduler_configs):
        apply_optimizer_config(optimizer, scheduled.scheduler, config)


class ScheduledAdamW:
    """Lightning hooks of the recipe, for a module with `model`, `optimizer_config` and
    `max_steps`: AdamW stepped per batch with the warm-up/cosine schedule, gradient clipping
    at `optimizer_config.grad_clip` unless the trainer sets its own value."""

    def configure_optimizers(self):
        optimizer, schedule = build_optimizer(self.model, self.optimizer_config, self.max_steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_train_start(self) -> None:  # after a resume has restored the optimizer state
        apply_to_trainer_optimizers(self, self.optimizer_config)

    def configure_gradient_clipping(
        self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None
    ) -> None:
        clip = gradient_clip_val or self.optimizer_config.grad_clip
        if clip:
            self.clip_gradients(optimizer, clip, gradient_clip_algorithm or "norm")
