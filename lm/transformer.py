"""The GPT backbone: pre-norm decoder blocks with adaLN-zero conditioning (DiT, 2212.09748).

`Transformer.forward(x_BND, positions, mask, cond_BND, cache=None) -> h_BND` is a pure
function of its inputs. It knows nothing about token order, video, conditions or heads: it
receives embeddings, positions (t, h, w, scale) for rotary attention, a boolean mask
(True = may attend) and one conditioning vector per token (which may differ per token, e.g.
the action of the frame a token predicts). Compile, device and autocast are applied from
outside.

adaLN-zero: every block maps cond to shift/scale/gate for its attention and MLP branches;
the projection is zero-initialised, so a fresh block is the identity map. It runs once per
run of equal cond vectors (cond_runs.py): once per frame, not per token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from .attention import Attention, RMSNorm
from .cond_runs import CondRuns
from .kv_cache import KVCache
from .rope import RopeAngles, Rotary


@dataclass
class TransformerConfig:
    width: int = 256
    depth: int = 8
    heads: int = 8
    mlp_ratio: float = 4.0  # hidden = mlp_ratio * width (SwiGLU uses 2/3 of it per branch)
    mlp: Literal["swiglu", "gelu"] = "swiglu"
    qk_norm: bool = True  # bounded attention logits under bf16
    rope_base: float = 100.0  # positions are small integers (grid, frames), not 4k tokens
    init_std: float = 0.02

    def __post_init__(self):
        if min(self.width, self.depth, self.heads) < 1:  # before the modulo below
            raise ValueError(
                f"width, depth and heads must be >= 1, got {self.width}, {self.depth}, {self.heads}"
            )
        if self.width % self.heads:
            raise ValueError(f"width ({self.width}) must be divisible by heads ({self.heads})")
        if self.mlp not in ("swiglu", "gelu"):
            raise ValueError(f"mlp must be 'swiglu' or 'gelu', got {self.mlp!r}")


class MLP(nn.Module):
    def __init__(self, width: int, ratio: float, kind: str):
        super().__init__()
        self.kind = kind
        hidden = int(width * ratio * 2 / 3) if kind == "swiglu" else int(width * ratio)
        self.up = nn.Linear(width, hidden * (2 if kind == "swiglu" else 1), bias=False)
        self.down = nn.Linear(hidden, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "swiglu":
            gate, value = self.up(x).chunk(2, dim=-1)
            return self.down(F.silu(gate) * value)
        return self.down(F.gelu(self.up(x)))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x·(1 + scale) + shift, as one fused multiply-add."""
    return torch.addcmul(shift, x, 1 + scale)


class Block(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        D = config.width
        self.norm1 = RMSNorm(D, affine=False)  # adaLN supplies the gain
        self.attn = Attention(D, config.heads, config.qk_norm)
        self.norm2 = RMSNorm(D, affine=False)
        self.mlp = MLP(D, config.mlp_ratio, config.mlp)
        self.modulation = nn.Linear(D, 6 * D)  # shift, scale, gate for attn and MLP
        self.compiled_body = None  # Transformer.compile_blocks: for uncached forwards

    def forward(self, x_BND, angles, mask, cond: CondRuns, cache, layer) -> torch.Tensor:
        mod = cond.project(self.modulation, F.silu)
        if cache is None and self.compiled_body is not None:
            return self.compiled_body(x_BND, angles.cos, angles.sin, mask, mod)
        return self.body(x_BND, angles.cos, angles.sin, mask, mod, cache, layer)

    def body(self, x_BND, cos, sin, mask, mod, cache=None, layer=0) -> torch.Tensor:
        """The block given its modulation: tensors in, tensors out (what `compile` wraps)."""
        shift1, scale1, gate1, shift2, scale2, gate2 = mod.chunk(6, dim=-1)
        h = modulate(self.norm1(x_BND), shift1, scale1)
        attended = self.attn(h, RopeAngles(cos, sin), mask, cache, layer)
        x_BND = torch.addcmul(x_BND, gate1, attended)
        h = modulate(self.norm2(x_BND), shift2, scale2)
        return torch.addcmul(x_BND, gate2, self.mlp(h))


class Transformer(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        self.rotary = Rotary(config.width // config.heads, config.rope_base)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.depth))
        self.final_norm = RMSNorm(config.width, affine=False)
        self.final_modulation = nn.Linear(config.width, 2 * config.width)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2 style: normal(std) weights, residual outputs scaled by 1/sqrt(2·depth),
        adaLN projections zero (identity blocks at init)."""
        std = self.config.init_std
        for block in self.blocks:
            for linear in (block.attn.qkv, block.mlp.up):
                nn.init.normal_(linear.weight, std=std)
            for linear in (block.attn.out, block.mlp.down):
                nn.init.normal_(linear.weight, std=std / math.sqrt(2 * self.config.depth))
            for norm in (block.attn.q_norm, block.attn.k_norm):
                if isinstance(norm, RMSNorm):
                    nn.init.ones_(norm.weight)
            nn.init.zeros_(block.modulation.weight)
            nn.init.zeros_(block.modulation.bias)
        nn.init.zeros_(self.final_modulation.weight)
        nn.init.zeros_(self.final_modulation.bias)

    def compile_blocks(self, enabled: bool = True) -> None:
        """`torch.compile` every block's body (static shapes) for forwards without a KV
        cache: training, validation and uncached sampling. The modulation stays eager (its
        runs are data-dependent), and cached decoding stays eager too: compiled one-token
        steps were slower on CPU (guards and cache copies; issue 17's probe). Measured at the
        speed bench's base preset, 1 thread: a training step x1.11-1.14 faster on an idle
        machine (benchmarks/results/speed.md, paired rounds), up to x1.5 on a busy one;
        the first steps of each shape compile (10-15 s)."""
        for block in self.blocks:
            block.compiled_body = torch.compile(block.body, dynamic=False) if enabled else None

    def forward(
        self,
        x_BND: torch.Tensor,
        positions: torch.Tensor,
        mask: torch.Tensor,
        cond_BND: torch.Tensor,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """x_BND: new tokens; positions N×4 or B×N×4; mask N×M or B×N×M over M = cached +
        new keys; cond_BND: adaLN vector per token. With a cache, keys/values are appended."""
        if cond_BND.shape != x_BND.shape:
            raise ValueError(
                f"cond_BND must match x_BND {tuple(x_BND.shape)}, got {tuple(cond_BND.shape)}"
            )
        angles = self.rotary.angles(positions)
        if cache is not None and mask.dtype == torch.bool and bool(mask.all()):
            mask = None  # a decoding step that sees every cached key: the unmasked kernel
        # modulation once per run of equal vectors (a frame), and once per frame in a session
        cond = CondRuns.of(cond_BND, None if cache is None else cache.modulation_memo)
        for layer, block in enumerate(self.blocks):
            x_BND = block(x_BND, angles, mask, cond, cache, layer)
        shift, scale = cond.project(self.final_modulation, F.silu).chunk(2, dim=-1)
        return modulate(self.final_norm(x_BND), shift, scale)
