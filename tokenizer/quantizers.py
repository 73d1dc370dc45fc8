"""VQ, FSQ, LFQ and residual VQ, all from vector-quantize-pytorch (1.32.0), behind one interface.

The only file that touches the library. Features B×C×T×H×W are flattened to B×(T·H·W)×C,
quantised in fp32 and reshaped back. Codes: B×T×H×W int64 (B×T×H×W×D for rvq).
VQ: k-means init, cosine or l2 codes, EMA updates, dead-code replacement, low-dimensional
lookup (`codebook_dim`). FSQ: fixed levels, no codebook. LFQ: binary codes with an entropy
loss. RVQ: D residual VQ stages with separate codebooks.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from vector_quantize_pytorch import FSQ, LFQ, ResidualVQ, VectorQuantize

from .bottleneck import Bottleneck, BottleneckOutput, fp32_region
from .config import BottleneckConfig
from .indexed_codebook import use_indexed_codebooks
from .restarts import use_error_weighted_restarts


def _vq_kwargs(config: BottleneckConfig) -> dict:
    return dict(
        codebook_size=config.codebook_size,
        codebook_dim=config.codebook_dim,
        decay=config.ema_decay,
        kmeans_init=config.kmeans_init,
        use_cosine_sim=config.distance == "cosine",
        threshold_ema_dead_code=config.dead_code_threshold,
        commitment_weight=config.commitment_weight,
    )


class LibraryQuantizer(Bottleneck):
    kinds = ("vq", "fsq", "lfq", "rvq")
    values = "codes"

    def __init__(self, config: BottleneckConfig, latent_dim: int) -> None:
        super().__init__()
        self.kind = config.kind
        if config.kind == "vq":
            self.quantizer = VectorQuantize(dim=latent_dim, **_vq_kwargs(config))
            self.vocab_size = config.codebook_size
        elif config.kind == "rvq":
            self.quantizer = ResidualVQ(
                dim=latent_dim, num_quantizers=config.rvq_depth, **_vq_kwargs(config)
            )
            self.vocab_size, self.code_depth = config.codebook_size, config.rvq_depth
        elif config.kind == "fsq":
            self.quantizer = FSQ(
                levels=list(config.fsq_levels),
                dim=latent_dim,
                noise_dropout=config.fsq_noise_dropout,
                # the library pairs noise dropout with the same paper's symmetric levels
                preserve_symmetry=config.fsq_noise_dropout > 0,
            )
            self.vocab_size = math.prod(config.fsq_levels)
        elif config.kind == "lfq":
            self.quantizer = LFQ(
                dim=latent_dim,
                codebook_size=config.codebook_size,
                entropy_loss_weight=config.lfq_entropy_weight,
                commitment_loss_weight=config.commitment_weight,
            )
            self.vocab_size = config.codebook_size
        else:
            raise ValueError(f"LibraryQuantizer cannot build bottleneck.kind={config.kind!r}")
        if config.kind in ("vq", "rvq"):
            use_indexed_codebooks(self.quantizer)  # same codes, no N×K one-hot matrices
            if config.dead_code_sampling == "error":
                use_error_weighted_restarts(self.quantizer, seed=config.msvq_seed)

    def forward(
        self, z_BCTHW: torch.Tensor, generator: torch.Generator | None = None
    ) -> BottleneckOutput:
        _, _, frames, height, _ = z_BCTHW.shape
        with fp32_region(z_BCTHW):
            z_BND = rearrange(z_BCTHW.float(), "b c t h w -> b (t h w) c")
            quantized_BND, codes_BN, loss = self._quantize(z_BND)
        latents = rearrange(quantized_BND, "b (t h w) c -> b c t h w", t=frames, h=height)
        codes = rearrange(codes_BN.long(), "b (t h w) ... -> b t h w ...", t=frames, h=height)
        return BottleneckOutput(latents=latents, codes=codes, loss=loss)

    def _quantize(self, z_BND: torch.Tensor):
        zero = z_BND.new_zeros(())
        if self.kind == "fsq":
            quantized, codes = self.quantizer(z_BND)
            return quantized, codes, zero
        if self.kind == "lfq":
            quantized, codes, aux = self.quantizer(z_BND)
            return quantized, codes, aux.float().sum()
        quantized, codes, loss = self.quantizer(z_BND)
        return quantized, codes, loss.float().sum()

    def codes_to_latents(self, codes: torch.Tensor) -> torch.Tensor:
        frames, height = codes.shape[1:3]
        codes_BN = rearrange(codes, "b t h w ... -> b (t h w) ...")
        with fp32_region(codes):
            if self.kind in ("fsq", "lfq"):
                latents_BND = self.quantizer.indices_to_codes(codes_BN)
            else:
                latents_BND = self.quantizer.get_output_from_indices(codes_BN)
        return rearrange(latents_BND.float(), "b (t h w) c -> b c t h w", t=frames, h=height)
