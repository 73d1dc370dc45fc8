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
from .mask_runs import MaskRuns
from .rope import RopeAngles, Rotary
from .slot_cache import SlotKVCache, SlotWriter

SLOT_GRAPHS = 64  # compiled decoding graphs kept (Transformer.slot_step)


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

    def forward(self, x_BND, angles, mask, mod, cache, layer) -> torch.Tensor:
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
        self._slot_body_compiled = None  # slot_step's torch.compile, made at first use
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
        _check_cond(x_BND, cond_BND)
        angles = self.rotary.angles(positions)
        if cache is not None and mask.dtype == torch.bool and bool(mask.all()):
            mask = None  # a decoding step that sees every cached key: the unmasked kernel
        elif cache is None:  # training, uncached sampling: few runs of equal rows as pieces
            mask = MaskRuns.of(mask) or mask
        # modulation once per run of equal vectors (a frame), and once per frame in a session
        mods = self.modulations(cond_BND, cache)
        for layer, block in enumerate(self.blocks):
            x_BND = block(x_BND, angles, mask, mods[layer], cache, layer)
        return self.final(x_BND, mods[-1])

    def modulations(self, cond_BND: torch.Tensor, cache: KVCache | None) -> list[torch.Tensor]:
        """Every block's adaLN modulation, then the final norm's: once per run of equal
        vectors (a frame), and once per frame in a session (the cache's memo)."""
        cond = CondRuns.of(cond_BND, None if cache is None else cache.modulation_memo)
        linears = [block.modulation for block in self.blocks] + [self.final_modulation]
        return [cond.project(linear, F.silu) for linear in linears]

    def final(self, x_BND: torch.Tensor, mod: torch.Tensor) -> torch.Tensor:
        shift, scale = mod.chunk(2, dim=-1)
        return modulate(self.final_norm(x_BND), shift, scale)

    def slot_step(
        self,
        x_BnD: torch.Tensor,
        positions: torch.Tensor,
        mask: torch.Tensor,
        cond_BnD: torch.Tensor,
        cache: SlotKVCache,
        compiled: bool = True,
    ) -> torch.Tensor:
        """`forward` of a decoding step through a `SlotKVCache`: the mask covers its
        slots (`cache.slot_mask`), and the new keys/values go to `cache.new_slots`. The
        shapes depend on batch and step length alone (the slots read are a dynamic length),
        so `compiled` runs it as one `torch.compile`d graph per step length: ~25-40 s of
        compile on CPU for the first step of each, then none. Weights are graph inputs:
        training in between needs no recompile. compiled=False: the same code eagerly."""
        _check_cond(x_BnD, cond_BnD)
        mods = self.modulations(cond_BnD, cache)
        attn = self.blocks[0].attn
        keys, values = cache.buffers_for(x_BnD.shape[0], attn.heads, attn.head_dim, x_BnD)
        # attention reads the slots up to the highest one in use (they are handed out lowest
        # first), a length the mask carries and the graph takes as dynamic: no recompiles
        mask = mask[..., : cache.slots_in_use]
        if not compiled:
            return self._slot_body(x_BnD, positions, mask, mods, cache.new_slots, keys, values)
        torch._dynamo.maybe_mark_dynamic(mask, mask.dim() - 1)
        # one graph per depth, step length, batch...: dynamo's default of 8 per function
        # would fall back to eager in a process that decodes a few models (a benchmark)
        with torch._dynamo.config.patch(recompile_limit=SLOT_GRAPHS):
            return self._compiled_slot_body()(
                x_BnD, positions, mask, mods, cache.new_slots, keys, values
            )

    def _compiled_slot_body(self):
        """`_slot_body` compiled once per backbone. The C++ wrapper saves ~0.3 ms of Python
        per call, a tenth of a one-token step at width 256 (longer compile: ~25-40 s)."""
        if self._slot_body_compiled is None:
            self._slot_body_compiled = torch.compile(
                self._slot_body, fullgraph=True, options={"cpp_wrapper": True}
            )
        return self._slot_body_compiled

    def _slot_body(self, x_BnD, positions, mask, mods, slots_n, keys, values) -> torch.Tensor:
        """Tensors in, tensors out (what `slot_step` compiles); writes keys/values in place."""
        angles = self.rotary.angles(positions)
        writer = SlotWriter(keys, values, slots_n, mask.shape[-1])
        for layer, block in enumerate(self.blocks):
            x_BnD = block.body(x_BnD, angles.cos, angles.sin, mask, mods[layer], writer, layer)
        return self.final(x_BnD, mods[-1])


def _check_cond(x_BND: torch.Tensor, cond_BND: torch.Tensor) -> None:
    if cond_BND.shape != x_BND.shape:
        raise ValueError(
            f"cond_BND must match x_BND {tuple(x_BND.shape)}, got {tuple(cond_BND.shape)}"
        )
