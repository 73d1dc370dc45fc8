"""A decoding session: the `Decoder` an order's sampling loop drives (see orders/base.py).

It holds what one `VideoLM.generate` call needs between steps: the conditioning of every
frame (and its unconditional twin for classifier-free guidance, run as a doubled batch
through the same cached forward, LlamaGen style), the KV cache, the sliding window over
frames and the head's sampling settings (`DecodeOptions`). `use_cache=False` recomputes the
whole visible sequence at every step instead (same mask, same numbers; a baseline for speed).

Which slots a run covers and which conditioning they read come from two public hooks,
`slots` and `frame_conditions`; `StreamingSession` (streaming.py) overrides only those.
It knows the backbone, head and conditioner of the model; it knows nothing about the order
of tokens beyond the layout's per-slot metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from .guidance import ScheduleKind, cfg_schedule
from .heads.base import SamplingSettings
from .kv_cache import KVCache
from .orders.base import StepOutput
from .sequence import SequenceInputs, TokenLayout
from .slot_cache import SlotKVCache, capacity_for

if TYPE_CHECKING:  # annotations only: model.py imports this module
    from .conditioning import ConditionEmbedding, Conditions
    from .model import VideoLM


@dataclass
class DecodeOptions:
    """How to sample, the same for a whole generation or stream."""

    settings: SamplingSettings = field(default_factory=SamplingSettings)
    cfg_scale: float = 1.0  # classifier-free guidance; 1 = off (no unconditional run)
    cfg_schedule: ScheduleKind = "constant"  # how the scale ramps over the generation
    generator: torch.Generator | None = None  # every draw of the session
    window_frames: int | None = None  # attend to the last W frames; None = the model's
    refine_steps: int = 1  # within-group refinement steps (orders with max_refine_steps > 1)
    use_cache: bool = True  # False: recompute the visible sequence each step (a baseline)
    # True: cached steps run as one torch.compile'd graph over fixed-size slot buffers
    # (slot_cache.py); the first step of each shape compiles (~10-30 s on CPU)
    compile: bool = False


@dataclass
class GeneratedTokens:
    values: torch.Tensor  # codes B×T×H×W(×depth) or latents B×T×H×W×C, context included
    forward_passes: int  # transformer calls (prefill included; CFG halves share a call)
    num_frames: int
    context_frames: int
    z_BND: torch.Tensor | None = None  # head inputs of each slot's committed step
    reveal_BN: torch.Tensor | None = None  # next-block refinement: revealed at commit


class DecodingSession:
    def __init__(
        self,
        model: VideoLM,
        conditions: Conditions,
        num_frames: int,
        batch_size: int,
        options: DecodeOptions,
    ):
        if options.compile and not options.use_cache:
            raise ValueError("compile=True compiles the KV-cached steps; use_cache=False has none")
        window = options.window_frames
        self.model, self.options, self.batch_size = model, options, batch_size
        self.settings, self.generator = options.settings, options.generator
        self.window = model.config.window_frames if window is None else window
        self.guided = options.cfg_scale != 1.0
        device = next(model.parameters()).device
        self.layout = model.order.layout(num_frames).to(device)
        cond = model.conditioner(conditions, num_frames, batch_size=batch_size)
        self.conds = [cond]
        if self.guided:
            uncond = model.conditioner(conditions, num_frames, drop_all=True, batch_size=batch_size)
            self.conds.append(uncond)
        self.cache = self._new_cache(len(model.backbone.blocks))
        self.history: SequenceInputs | None = None  # uncached baseline: committed tokens
        self._prefill_prefix()

    # -- Decoder protocol -------------------------------------------------------------------

    def embed(self, values: torch.Tensor) -> torch.Tensor:
        return self.model.embed(values)

    def run(
        self,
        inputs_BnD: torch.Tensor,
        start: int,
        stop: int,
        commit: bool,
        cond_BnD: torch.Tensor | None = None,
    ) -> StepOutput:
        seq = self.sequence(inputs_BnD, start, stop, cond_BnD)
        if self.window is not None:
            self._drop_before(int(seq.frame_N.min()) - self.window)
        h = self._forward(seq, commit)
        if not self.guided:
            return StepOutput(h)
        z, z_uncond = h.chunk(2, dim=0)
        return StepOutput(z, z_uncond)

    def sample(
        self, step: StepOutput, fraction: float, exclude: torch.Tensor | None = None
    ) -> torch.Tensor:
        scale = cfg_schedule(self.options.cfg_schedule, self.options.cfg_scale, fraction)
        excluding = {} if exclude is None else {"exclude": exclude}  # categorical heads only
        return self.model.head.sample(
            step.z_BND,
            self.generator,
            self.settings,
            z_uncond_BND=step.z_uncond_BND if self.guided else None,
            cfg_scale=scale,
            **excluding,
        )

    def confidence(self, step: StepOutput, values: torch.Tensor) -> torch.Tensor:
        return self.model.head.confidence(step.z_BND, values, self.generator)

    # -- what a run covers (StreamingSession overrides these two) ---------------------------

    def slots(self, start: int, stop: int) -> TokenLayout:
        """Layout of slots [start, stop) of the sequence."""
        return self.layout[start:stop]

    def frame_conditions(self, part: TokenLayout) -> list[ConditionEmbedding]:
        """Per-frame conditioning covering the frames `part` predicts, conditional first
        (and unconditional under guidance), without prefix tokens (those are cached)."""
        return [cond.without_prefix() for cond in self.conds]

    def sequence(
        self,
        inputs_BnD: torch.Tensor,
        start: int,
        stop: int,
        cond_BnD: torch.Tensor | None = None,
    ) -> SequenceInputs:
        """Backbone inputs of slots [start, stop), doubled under guidance; cond_BnD is added
        to the conditioning of both halves."""
        part = self.slots(start, stop)
        runs = [
            self.model.sequence_inputs(inputs_BnD, part, cond, cond_BnD)
            for cond in self.frame_conditions(part)
        ]
        return SequenceInputs.stack(runs)

    # -- internals --------------------------------------------------------------------------

    def _prefill_prefix(self) -> None:
        """Text prefix tokens (group -1) go into the cache once, before any video slot."""
        if self.conds[0].prefix_BPD is None:
            return
        B, D = self.batch_size, self.model.config.width
        part = self.layout[:0]
        inputs = torch.zeros(B, 0, D, device=part.group_N.device)
        runs = [self.model.sequence_inputs(inputs, part, c) for c in self.conds]
        self._forward(SequenceInputs.stack(runs), commit=True)

    def _new_cache(self, layers: int) -> KVCache:
        if not self.options.compile:
            return KVCache(layers)
        prefix = self.conds[0].prefix_BPD
        per_frame = len(self.layout.group_N) // self.layout.num_frames
        # the window's frames and the new one (a stream's layout is not its length)
        visible = len(self.layout.group_N) if self.window is None else per_frame * (self.window + 1)
        prefix_tokens = 0 if prefix is None else prefix.shape[1]
        # + one frame: a refinement's look-ahead holds a block more before truncating
        return SlotKVCache(layers, capacity_for(prefix_tokens + visible + per_frame))

    def _forward(self, seq: SequenceInputs, commit: bool) -> torch.Tensor:
        order, backbone = self.model.order, self.model.backbone
        n = seq.x_BND.shape[1]
        if not self.options.use_cache:
            full = seq if self.history is None else SequenceInputs.cat(self.history, seq)
            if commit:
                self.history = full
            meta = (full.group_N, full.frame_N)
            mask = order.mask(meta, meta, self.window, full.valid_BN, query_offset=0)
            return backbone(full.x_BND, full.positions, mask, full.cond_BND)[:, -n:]
        before = self.cache.length
        self.cache.add_tokens(seq.group_N, seq.frame_N, seq.valid_BN)
        cache = self.cache
        keys = (cache.group_N, cache.frame_N)
        offset = cache.length - n
        mask = order.mask((seq.group_N, seq.frame_N), keys, self.window, cache.valid_BN, offset)
        if isinstance(cache, SlotKVCache):
            mask = cache.slot_mask(mask)
            h = backbone.slot_step(seq.x_BND, seq.positions, mask, seq.cond_BND, cache)
        else:
            h = backbone(seq.x_BND, seq.positions, mask, seq.cond_BND, cache)
        if not commit:
            cache.truncate(before)
        return h

    def _drop_before(self, frame: int) -> None:
        self.cache.drop_frames_before(frame)
        if self.history is not None:
            keep = (self.history.frame_N < 0) | (self.history.frame_N >= frame)
            self.history = self.history.select(keep)
