"""Typed configuration of the video tokenizer: the conv stacks and the bottleneck.

Plain dataclasses that round-trip through JSON (`to_dict` / `from_dict`), so a saved
tokenizer folder carries everything needed to rebuild it. Presets live in configs/*.yaml.
This module knows nothing about torch modules.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Literal, get_args

# The one list of bottleneck kinds; bottleneck.BOTTLENECKS maps each to its class.
BottleneckKind = Literal["vq", "fsq", "lfq", "rvq", "msvq", "continuous"]
BOTTLENECK_KINDS: tuple[str, ...] = get_args(BottleneckKind)


@dataclass
class BottleneckConfig:
    """How encoder features become codes or continuous latents.

    Fields that do not apply to the chosen `kind` are ignored.
    """

    kind: BottleneckKind = "fsq"
    codebook_size: int = 1024  # vq / rvq / msvq; lfq: must be a power of two
    codebook_dim: int | None = None  # vq / rvq: low-dimensional lookup space (None = latent_dim)
    distance: Literal["l2", "cosine"] = "cosine"  # vq / rvq code matching
    # vq / rvq: k-means on the first batch; msvq: k-means on the first training batch's
    # residuals at every scale (Lloyd rounds: `msvq_kmeans_iters`)
    kmeans_init: bool = True
    # vq / rvq: codebook EMA; msvq: EMA of per-code usage (the codebook learns by gradient).
    # Small data sets need a fast decay.
    ema_decay: float = 0.95
    # vq / rvq / msvq: codes whose EMA usage (assignments per batch, all msvq scales together)
    # falls below this are replaced by vectors of the current batch. 0 = never replace.
    dead_code_threshold: float = 2.0
    # vq / rvq: where replaced codes come from: "uniform" draws batch vectors at random (the
    # library's way: on Atari mostly background duplicates); "error" draws them in proportion
    # to their distance from the codebook (restarts.py), so rare content gets codes
    dead_code_sampling: Literal["uniform", "error"] = "uniform"
    commitment_weight: float = 0.25  # vq / rvq / msvq: pulls encoder outputs to their codes
    fsq_levels: tuple[int, ...] = (8, 5, 5, 5)  # fsq: vocabulary = product (1000)
    # fsq: fraction of positions trained with uniform noise instead of rounding (arXiv
    # 2411.19842, with its symmetric levels); keeps gradients alive when tanh saturates and
    # codes collapse. 0 = off (plain FSQ).
    fsq_noise_dropout: float = 0.0
    lfq_entropy_weight: float = 0.1  # lfq: keeps the binary codes diverse
    rvq_depth: int = 4  # rvq: codes per position
    scales: tuple[int, ...] = (1, 2, 3, 4, 6, 8)  # msvq: side lengths, coarse to fine
    upsample_mode: Literal["bicubic", "bilinear"] = "bicubic"  # msvq: residual up-sampling
    refine_convs: int = 4  # msvq: refinement convs (VAR's phi), shared across nearby scales
    refine_ratio: float = 0.5  # msvq: output = (1 - ratio) * h + ratio * conv(h)
    # msvq: True, VAR's residual scales (scale k quantises what coarser scales left; the
    # latent is their sum). False, a pyramid: scale k quantises the latent itself, pooled to
    # s_k×s_k, and the latent is the last scale's alone. The pyramid's last scale is a plain
    # VQ of each cell, so a cell-local encoder gives it still-cell stable codes by
    # construction; the coarse scales are a summary the generator predicts first.
    residual: bool = True
    msvq_kmeans_iters: int = 10  # msvq: k-means rounds of the init; 0 = a random sample
    # msvq: seeds init and restarts when forward is given no generator; vq / rvq: seeds the
    # "error" dead-code sampling
    msvq_seed: int = 0
    kl_weight: float = 1e-6  # continuous: weight of the KL term to a unit Gaussian

    def __post_init__(self) -> None:
        self.fsq_levels = tuple(self.fsq_levels)
        self.scales = tuple(self.scales)
        if self.kind not in BOTTLENECK_KINDS:
            raise ValueError(f"bottleneck.kind={self.kind!r}; expected one of {BOTTLENECK_KINDS}")
        if not 0 <= self.fsq_noise_dropout < 1:
            raise ValueError(f"bottleneck.fsq_noise_dropout={self.fsq_noise_dropout}: use [0, 1)")
        if self.kind == "lfq" and not math.log2(self.codebook_size).is_integer():
            raise ValueError(f"bottleneck.codebook_size={self.codebook_size} must be 2**n for lfq")
        if self.kind == "msvq" and list(self.scales) != sorted(set(self.scales)):
            raise ValueError(f"bottleneck.scales={self.scales} must be strictly increasing")
        if self.dead_code_sampling not in ("uniform", "error"):
            raise ValueError(
                f"bottleneck.dead_code_sampling={self.dead_code_sampling!r}; "
                "use 'uniform' or 'error'"
            )
        if self.msvq_kmeans_iters < 0:
            raise ValueError(f"bottleneck.msvq_kmeans_iters={self.msvq_kmeans_iters}: use >= 0")


@dataclass
class TokenizerConfig:
    """A causal 3D conv autoencoder around a bottleneck.

    `widths` holds one channel width per resolution, finest first; its length must be
    log2(spatial_compression / patch_size) + 1 (one down-sampling between consecutive widths).
    """

    in_channels: int = 3
    widths: tuple[int, ...] = (32, 64, 64, 128)
    num_res_blocks: int = 1  # residual blocks per resolution
    spatial_compression: Literal[4, 8, 16] = 8
    # Pixel-unshuffle stem: the first p×p down-sampling folds pixels into channels instead of
    # running convs at full resolution (there they cost most and see little on 64×64 Atari);
    # the decoder ends with the mirror pixel-shuffle. 1 = no stem.
    patch_size: Literal[1, 2, 4] = 1
    temporal_compression: Literal[1, 2, 4] = 1  # T frames -> 1 + (T - 1) / r latent frames
    # Time taps of every conv except the temporal re-samplers (which always use 3). Each
    # 3-tap conv reaches 2 frames further back, so a deep stack sees ~20 past frames: train on
    # crops at least that long, or use 1 (a per-frame 2D stack, 3x cheaper) when
    # temporal_compression is 1 and clips are short.
    time_kernel: Literal[1, 3] = 3
    attention: bool = False  # one per-frame self-attention block at the lowest resolution
    # "conv": the causal conv stack (a latent sees most of the frame); "cell" (a per-cell MLP)
    # and "cell_conv" (a per-cell conv stack): each latent sees only its own s×s cell
    # (cell_encoder.py), so still pixels keep their code. The decoder is the conv stack always.
    encoder: Literal["conv", "cell", "cell_conv"] = "conv"
    # cell: width of the MLP (cheap: a cell is one row); cell_conv: width of its last stage
    cell_width: int = 256
    cell_blocks: int = 4  # encoder="cell": residual MLP blocks
    latent_dim: int = 8  # channels of the latent grid (= codes' embedding width)
    norm_groups: int = 8  # GroupNorm groups, applied per frame so time stays causal
    bottleneck: BottleneckConfig = field(default_factory=BottleneckConfig)

    def __post_init__(self) -> None:
        self.widths = tuple(self.widths)
        if isinstance(self.bottleneck, dict):
            self.bottleneck = BottleneckConfig(**self.bottleneck)
        if self.spatial_compression not in (4, 8, 16):
            raise ValueError(f"spatial_compression={self.spatial_compression}; use 4, 8 or 16")
        if self.patch_size not in (1, 2, 4) or self.patch_size > self.spatial_compression:
            raise ValueError(
                f"patch_size={self.patch_size}; use 1, 2 or 4, at most spatial_compression"
            )
        if self.temporal_compression not in (1, 2, 4):
            raise ValueError(f"temporal_compression={self.temporal_compression}; use 1, 2 or 4")
        if self.encoder not in ("conv", "cell", "cell_conv"):
            raise ValueError(f"encoder={self.encoder!r}; use 'conv', 'cell' or 'cell_conv'")
        if self.encoder != "conv" and self.temporal_compression != 1:
            raise ValueError(
                f"encoder={self.encoder!r} encodes frames apart: temporal_compression="
                f"{self.temporal_compression} needs encoder='conv'"
            )
        if self.cell_width < 1 or self.cell_blocks < 0:
            raise ValueError(f"cell_width={self.cell_width}, cell_blocks={self.cell_blocks}")
        if self.time_kernel not in (1, 3):
            raise ValueError(f"time_kernel={self.time_kernel}; use 1 or 3")
        if len(self.widths) != self.num_downsamples + 1:
            raise ValueError(
                f"widths={self.widths} needs {self.num_downsamples + 1} entries for "
                f"spatial_compression={self.spatial_compression}, patch_size={self.patch_size}"
            )
        if self.temporal_downsamples > self.num_downsamples:
            raise ValueError(
                f"temporal_compression={self.temporal_compression} needs at least as many "
                "strided down-samplings: lower it or raise spatial_compression / patch_size"
            )
        for width in self.widths:
            if width % self.norm_groups:
                raise ValueError(f"widths={self.widths} must be multiples of norm_groups")

    @property
    def num_downsamples(self) -> int:
        """Strided down-samplings after the stem."""
        return int(math.log2(self.spatial_compression // self.patch_size))

    @property
    def temporal_downsamples(self) -> int:
        return int(math.log2(self.temporal_compression))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TokenizerConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown TokenizerConfig fields: {sorted(unknown)}")
        return cls(**data)
