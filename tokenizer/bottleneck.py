"""The bottleneck interface: encoder features z_BCTHW -> latents (+ codes) and back.

Every bottleneck (vq, fsq, lfq, rvq in quantizers.py; msvq in msvq.py; continuous in
continuous.py) returns a `BottleneckOutput` and can map its codes back to latents. The
bottleneck knows nothing about pixels, the encoder or the decoder. Quantisation always runs
in fp32, also under autocast (`fp32_region`).

`BottleneckConfig.kind` is looked up in `BOTTLENECKS` (name -> class). Each class declares
the kinds it builds and what callers ask about it (`values`: "codes" or "latents"; `scales`
for a multi-scale one); nobody compares kind names outside the class that builds them.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from .config import BOTTLENECK_KINDS, BottleneckConfig


@dataclass
class BottleneckOutput:
    latents: torch.Tensor  # B×C×T×H×W: quantised latents, or normalised continuous latents
    codes: torch.Tensor | None  # int64; layout given by the bottleneck; None if continuous
    loss: torch.Tensor  # scalar auxiliary loss (commitment / entropy / KL), already weighted
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)  # detached, for logging


@contextmanager
def fp32_region(x: torch.Tensor):
    """Disable autocast for the device type of `x` (quantisers are fp32-only)."""
    with torch.autocast(device_type=x.device.type, enabled=False):
        yield


class Bottleneck(nn.Module):
    """Base class. Subclasses set `vocab_size` (0 if continuous) and `code_depth`, and
    declare `kinds` (the `BottleneckConfig.kind` names they build) and `values`."""

    kinds: tuple[str, ...] = ()
    values: Literal["codes", "latents"] = "codes"  # what encode hands to a generator
    vocab_size: int = 0
    code_depth: int = 1  # codes per position (rvq depth), 1 otherwise
    scales: tuple[int, ...] | None = None  # side lengths, coarse to fine, if multi-scale

    @classmethod
    def from_config(cls, config: BottleneckConfig, latent_dim: int) -> Bottleneck:
        return cls(config, latent_dim)

    def forward(
        self, z_BCTHW: torch.Tensor, generator: torch.Generator | None = None
    ) -> BottleneckOutput:
        raise NotImplementedError

    def codes_to_latents(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (the layout of `BottleneckOutput.codes`) -> latents B×C×T×H×W."""
        raise NotImplementedError

    def to_decoder_input(self, latents_BCTHW: torch.Tensor) -> torch.Tensor:
        """Latents as handed out -> what the decoder expects (undoes any normalisation)."""
        return latents_BCTHW


def build_bottleneck(config: BottleneckConfig, latent_dim: int) -> Bottleneck:
    """The bottleneck named by `config.kind` with `latent_dim` channels."""
    if config.kind not in BOTTLENECKS:
        raise ValueError(f"bottleneck.kind={config.kind!r}; expected one of {tuple(BOTTLENECKS)}")
    return BOTTLENECKS[config.kind].from_config(config, latent_dim)


# The implementations import the base class above, so they are imported after it.
from .continuous import GaussianBottleneck  # noqa: E402
from .msvq import MultiScaleResidualVQ  # noqa: E402
from .quantizers import LibraryQuantizer  # noqa: E402

BOTTLENECKS: dict[str, type[Bottleneck]] = {
    kind: cls
    for cls in (LibraryQuantizer, MultiScaleResidualVQ, GaussianBottleneck)
    for kind in cls.kinds
}
if tuple(BOTTLENECKS) != BOTTLENECK_KINDS:  # the Literal in config.py is the one list
    raise ImportError(f"BOTTLENECKS {tuple(BOTTLENECKS)} != BOTTLENECK_KINDS {BOTTLENECK_KINDS}")
