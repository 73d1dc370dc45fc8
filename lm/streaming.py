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

Every order with `streams` True (its groups never span two frames: next-token, next-block
with block_frames=1, the block-causal frame denoisers next_frame_flow and diffusion_forcing
under their autoregressive schedule) goes through this one path; it uses only the order's
public step API (`prefill`, `generate_group`, `schedule_fraction`) and the session's public
hooks (`slots`, `frame_conditions`). It knows nothing about pixels, tokenizers or actions' meanings.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .conditioning import ConditionEmbedding, Conditions
from .decoding import DecodeOptions, DecodingSession
from .model import VideoLM
from .orders.base import GenerationTrace, schedule_fraction
from .sequence import TokenLayout


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
        options: DecodeOptions,
        labels_B: torch.Tensor | None = None,
        texts: list[str] | None = None,
    ):
        order = model.order
        order.check_streams(options.settings)
        A = model.config.num_actions
        table_actions = torch.arange(A).expand(batch_size, A) if A else None
        # Frames 0..A of this "clip" are exactly the rows of the conditioning table.
        conditions = Conditions(table_actions, labels_B, texts)
        super().__init__(model, conditions, A + 1, batch_size, options)
        self.frame_layout = order.layout(1).to(self.layout.group_N.device)
        self.groups_per_frame = order.groups_per_frame
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
        return TokenLayout.cat([self.frame_layout.shifted(f) for f in range(first, last + 1)])

    # -- the DecodingSession hooks ----------------------------------------------------------

    def slots(self, start: int, stop: int) -> TokenLayout:
        per_frame = self.model.order.tokens_per_frame
        first = start // per_frame
        offset = first * per_frame
        return self.frame_slots(first, (stop - 1) // per_frame)[start - offset : stop - offset]

    def frame_conditions(self, part: TokenLayout) -> list[ConditionEmbedding]:
        """Rows of the table for frames first..last of `part` (row 0 = frame `first`)."""
        first, last = int(part.frame_N.min()), int(part.frame_N.max())
        rows_BF = torch.stack([self._rows[f] for f in range(first, last + 1)], dim=1)
        embeddings = []
        for cond in self.conds:
            table_BTD = cond.frame_BTD.expand(self.batch_size, -1, -1)
            index = rows_BF[..., None].expand(-1, -1, table_BTD.shape[-1])
            embeddings.append(ConditionEmbedding(table_BTD.gather(1, index), first_frame=first))
        return embeddings


class TokenStream:
    """Frame-by-frame sampling over a `StreamingSession` (see the module docstring)."""

    def __init__(self, session: StreamingSession, total_frames: int | None = None):
        """total_frames: the planned length (context included), so CFG schedules see the
        same `fraction` per group as `VideoLM.generate`; None = open-ended (fraction 0)."""
        self.model, self.session = session.model, session
        self.order = session.model.order
        self.refine_steps = session.options.refine_steps
        self.order.check_refine_steps(self.refine_steps)
        per_frame = self.order.groups_per_frame
        self._total_groups = None if total_frames is None else total_frames * per_frame
        self._first_group = 0  # first generated group, for the schedule fraction
        self.frames = 0  # frames generated or given so far
        self._previous: torch.Tensor | None = None  # flat values of the last group

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
        flat = self.order.flatten(context)
        trace = self.order.prefill(self.session, flat)
        self.frames, self._previous = c, flat
        self._first_group = c * self.order.groups_per_frame
        return trace.forward_passes

    def step(self, action_B: torch.Tensor | None = None) -> FrameTokens:
        """Sample the next frame; `action_B` was taken at the current last frame."""
        frame, per_frame = self.frames, self.order.groups_per_frame
        self.session.set_frame_action(frame, None if frame == 0 else action_B)
        parts = []
        for group in range(frame * per_frame, (frame + 1) * per_frame):
            fraction = schedule_fraction(group, self._first_group, self._total_groups)
            part = self.order.generate_group(
                self.session, self._previous, group, self.refine_steps, fraction
            )
            self._previous = part.values
            parts.append(part)
        self.frames += 1
        trace = GenerationTrace.cat(parts)
        values = self.order.unflatten(trace.values, 1)[:, 0]
        return FrameTokens(values, frame, trace.forward_passes)


def _column(actions_BT: torch.Tensor | None, t: int, frames: int) -> torch.Tensor | None:
    if actions_BT is None:
        return None
    if actions_BT.shape[1] < frames - 1:
        raise ValueError(
            f"actions_BT has {actions_BT.shape[1]} frames; {frames} context frames need "
            f"at least {frames - 1}"
        )
    return actions_BT[:, t]
