"""Streaming decoding: generate one frame at a time, for as long as wanted, at constant cost.

`VideoLM.generate` needs the number of frames up front (its `DecodingSession` lays out every
slot and embeds every frame's conditioning at the start). A world model does not know its
future actions, so `TokenStream` decodes frame by frame instead:

* `prefill(context, actions)` puts the context frames into the KV cache in one forward;
* `step(action_B)` samples the next frame, conditioned on the action taken at the current
  last frame (frame t+1 sees a_t), and commits it to the cache.

`StreamingSession` is the `Decoder` the order's block loop drives. Its layout is computed
per call from global token indices (frame f, block g, position t = f keep growing; RoPE is
relative and the sliding window drops old frames from the cache, so cost and memory per step
stay constant). Per-frame conditioning comes from a table embedded once: row 0 = null
action, row 1 + a = action a (with labels and text folded in), each row computed exactly as
`VideoLM.generate` computes a frame, so the same seed gives the same tokens.

Supported orders: next-token and next-block with blocks inside one frame (block_frames=1).
It knows the order's block loop and the decoding session; it knows nothing about pixels,
tokenizers or actions' meanings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .conditioning import ConditionEmbedding, Conditions
from .decoding import DecodingSession, _stack
from .heads.base import SamplingSettings
from .model import VideoLM
from .orders.base import TokenLayout
from .orders.next_block import NextBlockOrder


@dataclass
class FrameTokens:
    values: torch.Tensor  # codes B×H×W(×depth) or latents B×H×W×C of one frame
    frame: int  # its index in the stream (context frames count)
    forward_passes: int  # transformer calls spent on it


class StreamingSession(DecodingSession):
    """A DecodingSession over an unbounded layout; see the module docstring."""

    def __init__(
        self,
        model: VideoLM,
        batch_size: int,
        settings: SamplingSettings,
        cfg_scale: float = 1.0,
        generator: torch.Generator | None = None,
        window_frames: int | None = None,
        labels_B: torch.Tensor | None = None,
        texts: list[str] | None = None,
        cfg_schedule: str = "constant",
    ):
        order = model.order
        if not isinstance(order, NextBlockOrder) or order.block_frames != 1:
            raise ValueError(
                f"streaming needs a next_token or next_block order with block_frames=1, got "
                f"{model.config.order!r} (block_frames={model.config.block_frames})"
            )
        A = model.config.num_actions
        table_actions = torch.arange(A).expand(batch_size, A) if A else None
        # Frames 0..A of this "clip" are exactly the rows of the conditioning table.
        super().__init__(
            model, Conditions(table_actions, labels_B, texts), A + 1, settings, cfg_scale,
            cfg_schedule, generator, window_frames, batch_size, use_cache=True,
        )  # fmt: skip
        self.frame_layout = order.layout(1).to(self.layout.group_N.device)
        self.groups_per_frame = order.tokens_per_frame // order.block_tokens
        self._rows: dict[int, torch.Tensor] = {}  # frame -> B rows of the table

    def set_frame_action(self, frame: int, action_B: torch.Tensor | None) -> None:
        """Condition `frame` on the action taken at frame - 1 (None = the null action)."""
        device = self.frame_layout.group_N.device
        if action_B is None:
            rows = torch.zeros(self.batch_size, dtype=torch.long, device=device)
        else:
            count = self.model.config.num_actions
            if count == 0 or int(action_B.min()) < 0 or int(action_B.max()) >= count:
                raise ValueError(
                    f"action_B must lie in [0, {count}) (the model's num_actions), got "
                    f"{action_B.tolist()}"
                )
            rows = action_B.to(device=device, dtype=torch.long).expand(self.batch_size) + 1
        self._rows[frame] = rows
        keep_from = frame - (self.window or frame) - 1
        for old in [f for f in self._rows if f < keep_from]:
            del self._rows[old]

    def frame_slots(self, first: int, last: int) -> TokenLayout:
        """Layout of whole frames first..last (inclusive) with global groups and positions."""
        base, parts = self.frame_layout, []
        for f in range(first, last + 1):
            positions = base.positions_N4.clone()
            positions[:, 0] += f
            parts.append((base.group_N + f * self.groups_per_frame, base.frame_N + f, positions))
        group, frame, positions = (torch.cat(p) for p in zip(*parts))
        slot = base.slot_N.repeat(last - first + 1)
        return TokenLayout(group, frame, slot, positions, last + 1)

    def _sequence(self, inputs_BnD: torch.Tensor, start: int, stop: int):
        per_frame = self.model.order.tokens_per_frame
        first, last = start // per_frame, (stop - 1) // per_frame
        full = self.frame_slots(first, last)
        offset = first * per_frame
        cut = slice(start - offset, stop - offset)
        local = TokenLayout(
            full.group_N[cut], full.frame_N[cut] - first, full.slot_N[cut],
            full.positions_N4[cut], last - first + 1,
        )  # fmt: skip
        rows_BF = torch.stack([self._rows[f] for f in range(first, last + 1)], dim=1)
        runs = []
        for cond in self.conds:
            table_BTD = cond.frame_BTD.expand(self.batch_size, -1, -1)
            index = rows_BF[..., None].expand(-1, -1, table_BTD.shape[-1])
            frame_BFD = table_BTD.gather(1, index)
            seq = self.model.sequence_inputs(inputs_BnD, local, ConditionEmbedding(frame_BFD))
            runs.append(replace(seq, frame_N=seq.frame_N + first))
        return runs[0] if len(runs) == 1 else _stack(runs)


class TokenStream:
    """Frame-by-frame sampling over a `StreamingSession` (see the module docstring)."""

    def __init__(
        self,
        model: VideoLM,
        session: StreamingSession,
        refine_steps: int = 1,
        total_frames: int | None = None,
    ):
        """total_frames: the planned length (context included), so CFG schedules see the
        same `fraction` per block as `VideoLM.generate`; None = open-ended (fraction 0)."""
        order = model.order
        if not 1 <= refine_steps <= order.max_refine_steps:
            raise ValueError(
                f"refine_steps must be in [1, {order.max_refine_steps}], got {refine_steps}"
            )
        self.model, self.session, self.refine_steps = model, session, refine_steps
        self.total_frames = total_frames
        self._first_group = 0  # first generated group, for the schedule fraction
        self.frames = 0  # frames generated or given so far
        self._previous: torch.Tensor | None = None  # flat values of the last block

    @property
    def cache_length(self) -> int:
        return self.session.cache.length

    def prefill(self, context: torch.Tensor, actions_BT: torch.Tensor | None = None) -> int:
        """Feed context values B×c×H×W(...) (frame t conditioned on actions_BT[:, t-1]).

        Returns the forward passes spent (1)."""
        if self.frames:
            raise RuntimeError("prefill must come before any step")
        c = context.shape[1]
        for t in range(c):
            self.session.set_frame_action(t, None if t == 0 else _column(actions_BT, t - 1, c))
        flat = self.model.order.flatten(context)
        self.model.order._prefill(self.session, flat)
        self.frames, self._previous = c, flat
        self._first_group = c * self.session.groups_per_frame
        return 1

    def step(self, action_B: torch.Tensor | None = None) -> FrameTokens:
        """Sample the next frame; `action_B` was taken at the current last frame."""
        order, session = self.model.order, self.session
        frame = self.frames
        session.set_frame_action(frame, None if frame == 0 else action_B)
        G, per_frame = order.block_tokens, session.groups_per_frame
        blocks = []
        for g in range(per_frame):
            start = frame * order.tokens_per_frame + g * G
            fraction = self._fraction(frame * per_frame + g)
            block = order._generate_block(
                session, self._previous, start, self.refine_steps, fraction
            )
            self._previous = block.values
            blocks.append(block.values)
        self.frames += 1
        values = order.unflatten(torch.cat(blocks, dim=1), 1)[:, 0]
        return FrameTokens(values, frame, session.groups_per_frame * self.refine_steps)

    def _fraction(self, group: int) -> float:
        """As in NextBlockOrder.generate: (g - first) / max(1, groups - first)."""
        if self.total_frames is None:
            return 0.0
        total = self.total_frames * self.session.groups_per_frame
        return min(1.0, (group - self._first_group) / max(1, total - self._first_group))


def _column(actions_BT: torch.Tensor | None, t: int, frames: int) -> torch.Tensor | None:
    if actions_BT is None:
        return None
    if actions_BT.shape[1] < frames - 1:
        raise ValueError(
            f"actions_BT has {actions_BT.shape[1]} frames; {frames} context frames need "
            f"at least {frames - 1}"
        )
    return actions_BT[:, t]
