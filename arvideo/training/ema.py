"""Exponential moving average of a module's parameters (optional EMA weights for sampling)."""

from __future__ import annotations

import contextlib

import torch
from torch import nn


class ParameterEMA(nn.Module):
    """Shadow copies of `module`'s floating parameters, updated as ema = d*ema + (1-d)*p.

    The shadows are buffers, so they travel with the module's state dict and device moves.
    """

    def __init__(self, module: nn.Module, decay: float = 0.999) -> None:
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self._names = [n for n, p in module.named_parameters() if p.dtype.is_floating_point]
        for i, name in enumerate(self._names):
            self.register_buffer(f"shadow_{i}", module.get_parameter(name).detach().clone())

    def _pairs(self, module: nn.Module):
        for i, name in enumerate(self._names):
            yield getattr(self, f"shadow_{i}"), module.get_parameter(name)

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        for shadow, parameter in self._pairs(module):
            shadow.lerp_(parameter.detach().to(shadow.dtype), 1.0 - self.decay)

    @torch.no_grad()
    def copy_into(self, module: nn.Module) -> None:
        """Overwrite `module`'s parameters with the EMA weights (e.g. before export)."""
        for shadow, parameter in self._pairs(module):
            parameter.copy_(shadow)

    @contextlib.contextmanager
    def swapped_into(self, module: nn.Module):
        """Temporarily run `module` with the EMA weights."""
        saved = [p.detach().clone() for _, p in self._pairs(module)]
        self.copy_into(module)
        try:
            yield module
        finally:
            with torch.no_grad():
                for value, (_, parameter) in zip(saved, self._pairs(module)):
                    parameter.copy_(value)
