"""Exponential moving average of a module's parameters (optional EMA weights for sampling)."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

WARM_UPDATES = 1_000_000  # (1 + n) / (10 + n) above any decay in use


class ParameterEMA(nn.Module):
    """Shadow copies of `module`'s floating parameters, updated as ema = d*ema + (1-d)*p.

    d warms up as min(decay, (1 + n) / (10 + n)) after n updates: with a constant 0.999 the
    random initial weights would still hold 0.999^1500 = 22% of the average after a
    1,500-step CPU run. The shadows and n are buffers, so they travel with the module's
    state dict and device moves; a state dict saved before n existed loads as fully warm.
    """

    def __init__(self, module: nn.Module, decay: float = 0.999) -> None:
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))
        self._names = [n for n, p in module.named_parameters() if p.dtype.is_floating_point]
        for i, name in enumerate(self._names):
            self.register_buffer(f"shadow_{i}", module.get_parameter(name).detach().clone())

    def _pairs(self, module: nn.Module):
        for i, name in enumerate(self._names):
            yield getattr(self, f"shadow_{i}"), module.get_parameter(name)

    def current_decay(self) -> float:
        """The decay the next update uses (warmed up; see the class docstring)."""
        updates = int(self.updates)
        return min(self.decay, (1 + updates) / (10 + updates))

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        weight = 1.0 - self.current_decay()
        for shadow, parameter in self._pairs(module):
            shadow.lerp_(parameter.detach().to(shadow.dtype), weight)
        self.updates += 1

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + "updates"
        if key not in state_dict:  # saved without warm-up: those shadows are fully warm
            state_dict[key] = torch.tensor(WARM_UPDATES, dtype=torch.long)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

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
