"""The token-order interface: layout, mask, teacher forcing and the sampling loop.

Every order assigns each token slot a *group* id; a slot may attend to every slot whose
group is not later than its own (block-causal). Prefix tokens (e.g. text) have group -1 and
frame -1 and are visible to all. Teacher forcing is *shift by one group*: the input at the
slots of group g carries the content of group g-1 (the first group gets a learned start
embedding), and the output at group g predicts group g. Next-token is next-block with
blocks of one token; next-scale (VAR) uses group = (frame, scale) with inputs made per group.

A slot's position (t, h, w, scale), frame and in-frame slot index are those of the token it
*predicts*; conditioning is gathered by that frame, so a slot never sees the action of its
own frame's successor.

The order owns its learned inputs (start, reveal/hidden embeddings) and its sampling loop;
the loop calls model pieces through `Decoder` (provided by VideoLM), so orders know nothing
about transformers, caches, heads or conditions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn


@dataclass
class TokenLayout:
    """Per-slot metadata of the video tokens of `num_frames` frames, in sequence order."""

    group_N: torch.Tensor  # int64, non-decreasing
    frame_N: torch.Tensor  # int64, the frame each slot predicts
    slot_N: torch.Tensor  # int64, index within a frame (for the slot embedding)
    positions_N4: torch.Tensor  # float32: t, h, w, scale
    num_frames: int

    @property
    def num_groups(self) -> int:
        return int(self.group_N[-1]) + 1

    def __len__(self) -> int:
        return int(self.group_N.shape[0])

    def to(self, device: torch.device | str) -> TokenLayout:
        return TokenLayout(
            self.group_N.to(device),
            self.frame_N.to(device),
            self.slot_N.to(device),
            self.positions_N4.to(device),
            self.num_frames,
        )


@dataclass
class TeacherForcing:
    inputs_BND: torch.Tensor  # input embeddings at every slot (no slot embedding yet)
    weight_BN: torch.Tensor | None = None  # slots that count in the loss; None = all
    reveal_BN: torch.Tensor | None = None  # within-block refinement: revealed slots


@dataclass
class StepOutput:
    """Head inputs of one decoding step; z_uncond_BND only under classifier-free guidance."""

    z_BND: torch.Tensor
    z_uncond_BND: torch.Tensor | None = None


@dataclass
class GenerationTrace:
    values: torch.Tensor  # B×N(×...) token values in sequence order, context included
    z_BND: torch.Tensor  # head inputs of each slot's committed step (tests compare them)
    forward_passes: int  # transformer calls, prefill included
    reveal_BN: torch.Tensor | None = None  # refinement: what the committed input revealed


class Decoder(Protocol):
    """What a sampling loop may call (VideoLM provides it; it owns cache, CFG, window)."""

    batch_size: int

    def embed(self, values: torch.Tensor) -> torch.Tensor:
        """Token values (B×n...) -> content embeddings B×n×D."""

    def run(self, inputs_BnD: torch.Tensor, start: int, stop: int, commit: bool) -> StepOutput:
        """Forward slots [start, stop) given their inputs; commit=False rolls the cache back."""

    def sample(self, step: StepOutput, fraction: float) -> torch.Tensor:
        """Draw values from the head; `fraction` of generation done drives CFG schedules."""

    def confidence(self, step: StepOutput, values: torch.Tensor) -> torch.Tensor:
        """B×n score of sampled values (higher = surer; random for heads without one)."""


def block_causal_mask(
    group_q: torch.Tensor,
    frame_q: torch.Tensor,
    group_k: torch.Tensor,
    frame_k: torch.Tensor,
    window_frames: int | None = None,
    valid_BK: torch.Tensor | None = None,
    query_offset: int | None = None,
) -> torch.Tensor:
    """mask[i, j] = group_k[j] <= group_q[i] (prefix group -1 visible to all), and with a
    window only keys of frames >= frame_q[i] - window_frames (prefix always kept).

    valid_BK marks real keys (padding False) and makes the mask B×Q×K. query_offset: index
    of query 0 among the keys; each query then always sees itself, so a padded query never
    has an empty row (which would give NaN).
    """
    mask = group_k[None, :] <= group_q[:, None]
    if window_frames is not None:
        in_window = frame_k[None, :] >= frame_q[:, None] - window_frames
        mask = mask & (in_window | (group_k[None, :] < 0))
    if valid_BK is not None:
        mask = mask[None] & valid_BK[:, None, :]
    if query_offset is not None:
        keys = torch.arange(group_k.shape[0], device=group_k.device)
        queries = torch.arange(group_q.shape[0], device=group_q.device) + query_offset
        mask = mask | (keys[None, :] == queries[:, None])
    return mask


ValueEmbeddingFactory = Callable[[], nn.Module]


class TokenOrder(nn.Module):
    """Base class of orders. Subclasses set `tokens_per_frame` and implement the rest."""

    name: str = "order"
    tokens_per_frame: int
    max_refine_steps: int = 1  # > 1 only for orders with within-group refinement

    def layout(self, num_frames: int) -> TokenLayout:
        raise NotImplementedError

    def flatten(self, values: torch.Tensor) -> torch.Tensor:
        """B×T×(grid...)(×C) -> B×N(×C) in sequence order."""
        raise NotImplementedError

    def unflatten(self, values: torch.Tensor, num_frames: int) -> torch.Tensor:
        raise NotImplementedError

    def mask(
        self,
        layout_q: tuple[torch.Tensor, torch.Tensor],
        layout_k: tuple[torch.Tensor, torch.Tensor],
        window_frames: int | None = None,
        valid_BK: torch.Tensor | None = None,
        query_offset: int | None = None,
    ) -> torch.Tensor:
        """From (group, frame) of queries and keys; block-causal unless overridden."""
        return block_causal_mask(
            *layout_q, *layout_k, window_frames, valid_BK=valid_BK, query_offset=query_offset
        )

    def teacher_forcing(
        self,
        values: torch.Tensor,
        embed: Callable[[torch.Tensor], torch.Tensor],
        generator: torch.Generator | None = None,
        reveal_BN: torch.Tensor | None = None,
    ) -> TeacherForcing:
        raise NotImplementedError

    def generate(
        self,
        decoder: Decoder,
        layout: TokenLayout,
        context: torch.Tensor | None,
        generator: torch.Generator | None = None,
        refine_steps: int = 1,
    ) -> GenerationTrace:
        """Fill every slot of `layout` after the context (values of whole leading groups)."""
        raise NotImplementedError
