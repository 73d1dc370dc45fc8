"""A decoding session: the `Decoder` an order's sampling loop drives (see orders/base.py).

It holds what one `VideoLM.generate` call needs between steps: the conditioning of every
frame (and its unconditional twin for classifier-free guidance, run as a doubled batch
through the same cached forward, LlamaGen style), the KV cache, the sliding window over
frames and the head's sampling settings. `use_cache=False` recomputes the whole visible
sequence at every step instead (same mask, same numbers; a baseline for speed).

It knows the backbone, head and conditioner of the model; it knows nothing about the order
of tokens beyond the layout's per-slot metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .guidance import cfg_schedule
from .kv_cache import KVCache
from .orders.base import StepOutput

if TYPE_CHECKING:
    from .conditioning import Conditions
    from .heads.base import SamplingSettings
    from .model import SequenceInputs, VideoLM


@dataclass
class GeneratedTokens:
    values: torch.Tensor  # codes B×T×H×W(×depth) or latents B×T×H×W×C, context included
    forward_passes: int  # transformer calls (prefill included; CFG halves share a call)
    num_frames: int
    context_frames: int
    z_BND: torch.Tensor | None = None  # head inputs of each slot's committed step
    reveal_BN: torch.Tensor | None = None  # next-block refinement: revealed at commit


def _cat(a: SequenceInputs, b: SequenceInputs) -> SequenceInputs:
    """Concatenate two token runs along the sequence (for the uncached baseline)."""
    return type(a)(
        torch.cat([a.x_BND, b.x_BND], 1),
        torch.cat([a.positions, b.positions]),
        torch.cat([a.cond_BND, b.cond_BND], 1),
        torch.cat([a.group_N, b.group_N]),
        torch.cat([a.frame_N, b.frame_N]),
        torch.cat([a.valid_BN, b.valid_BN], 1),
        0,
    )


class DecodingSession:
    def __init__(
        self,
        model: VideoLM,
        conditions: Conditions,
        num_frames: int,
        settings: SamplingSettings,
        cfg_scale: float,
        schedule: str,
        generator: torch.Generator | None,
        window_frames: int | None,
        batch_size: int,
        use_cache: bool = True,
    ):
        self.model, self.settings, self.generator = model, settings, generator
        self.cfg_scale, self.schedule, self.window = cfg_scale, schedule, window_frames
        self.batch_size, self.use_cache = batch_size, use_cache
        self.guided = cfg_scale != 1.0
        device = next(model.parameters()).device
        self.layout = model.order.layout(num_frames).to(device)
        cond = model.conditioner(conditions, num_frames, batch_size=batch_size)
        self.conds = [cond]
        if self.guided:
            uncond = model.conditioner(conditions, num_frames, drop_all=True, batch_size=batch_size)
            self.conds.append(uncond)
        self.cache = KVCache(len(model.backbone.blocks))
        self.history: SequenceInputs | None = None  # uncached baseline: committed tokens
        self._prefill_prefix()

    # -- Decoder protocol -------------------------------------------------------------------

    def embed(self, values: torch.Tensor) -> torch.Tensor:
        return self.model.embed(values)

    def run(self, inputs_BnD: torch.Tensor, start: int, stop: int, commit: bool) -> StepOutput:
        seq = self._sequence(inputs_BnD, start, stop)
        if self.window is not None:
            self._drop_before(int(seq.frame_N.min()) - self.window)
        h = self._forward(seq, commit)
        if not self.guided:
            return StepOutput(h)
        z, z_uncond = h.chunk(2, dim=0)
        return StepOutput(z, z_uncond)

    def sample(self, step: StepOutput, fraction: float) -> torch.Tensor:
        scale = cfg_schedule(self.schedule, self.cfg_scale, fraction)
        return self.model.head.sample(
            step.z_BND,
            self.generator,
            self.settings,
            z_uncond_BND=step.z_uncond_BND if self.guided else None,
            cfg_scale=scale,
        )

    def confidence(self, step: StepOutput, values: torch.Tensor) -> torch.Tensor:
        """Log-probability of the sampled codes (categorical heads); random otherwise."""
        head = self.model.head
        if not hasattr(head, "logits"):
            B, n = values.shape[:2]
            return torch.rand(B, n, generator=self.generator, device=values.device)
        logp = head.logits(step.z_BND).float().log_softmax(-1)
        picked = logp.gather(-1, values.unsqueeze(-1)).squeeze(-1)
        return picked if picked.dim() == 2 else picked.sum(-1)  # residual depths: joint

    # -- internals --------------------------------------------------------------------------

    def _sequence(self, inputs_BnD: torch.Tensor, start: int, stop: int) -> SequenceInputs:
        layout = self.layout
        part = type(layout)(
            layout.group_N[start:stop],
            layout.frame_N[start:stop],
            layout.slot_N[start:stop],
            layout.positions_N4[start:stop],
            layout.num_frames,
        )
        runs = [self.model.sequence_inputs(inputs_BnD, part, _no_prefix(c)) for c in self.conds]
        return runs[0] if len(runs) == 1 else _stack(runs)

    def _prefill_prefix(self) -> None:
        """Text prefix tokens (group -1) go into the cache once, before any video slot."""
        if self.conds[0].prefix_BPD is None:
            return
        B, D = self.batch_size, self.model.config.width
        empty = self.layout.group_N[:0]
        part = type(self.layout)(
            empty, empty, empty, self.layout.positions_N4[:0], self.layout.num_frames
        )
        inputs = torch.zeros(B, 0, D, device=empty.device)
        runs = [self.model.sequence_inputs(inputs, part, c) for c in self.conds]
        self._forward(runs[0] if len(runs) == 1 else _stack(runs), commit=True)

    def _forward(self, seq: SequenceInputs, commit: bool) -> torch.Tensor:
        order, backbone = self.model.order, self.model.backbone
        n = seq.x_BND.shape[1]
        if not self.use_cache:
            full = seq if self.history is None else _cat(self.history, seq)
            if commit:
                self.history = full
            meta = (full.group_N, full.frame_N)
            mask = order.mask(meta, meta, self.window, full.valid_BN, query_offset=0)
            return backbone(full.x_BND, full.positions, mask, full.cond_BND)[:, -n:]
        before = self.cache.length
        self.cache.add_tokens(seq.group_N, seq.frame_N, seq.valid_BN)
        cache = self.cache
        mask = order.mask(
            (seq.group_N, seq.frame_N), (cache.group_N, cache.frame_N), self.window,
            cache.valid_BN, query_offset=cache.length - n,
        )  # fmt: skip
        h = backbone(seq.x_BND, seq.positions, mask, seq.cond_BND, cache)
        if not commit:
            cache.truncate(before)
        return h

    def _drop_before(self, frame: int) -> None:
        self.cache.drop_frames_before(frame)
        if self.history is not None:
            keep = (self.history.frame_N < 0) | (self.history.frame_N >= frame)
            self.history = _select(self.history, keep)


def _no_prefix(cond):
    """The same conditioning without its prefix (the prefix is already in the cache)."""
    return type(cond)(frame_BTD=cond.frame_BTD)


def _stack(runs: list[SequenceInputs]) -> SequenceInputs:
    """Conditional and unconditional runs as one doubled batch."""
    a, b = runs
    return type(a)(
        torch.cat([a.x_BND, b.x_BND]),
        a.positions,
        torch.cat([a.cond_BND, b.cond_BND]),
        a.group_N,
        a.frame_N,
        torch.cat([a.valid_BN, b.valid_BN]),
        a.prefix_len,
    )


def _select(seq: SequenceInputs, keep_N: torch.Tensor) -> SequenceInputs:
    return type(seq)(
        seq.x_BND[:, keep_N],
        seq.positions[keep_N],
        seq.cond_BND[:, keep_N],
        seq.group_N[keep_N],
        seq.frame_N[keep_N],
        seq.valid_BN[:, keep_N],
        0,
    )
