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
about transformers, caches, heads or conditions. The loop is public in steps: `prefill`
commits the context, `generate_group` samples and commits one group, and `generate` is
built on both with the shared CFG `schedule_fraction`; an order with `streams` True has
groups inside one frame, so a stream (streaming.py) can drive the same two steps frame by
frame. Orders whose groups need more state than the previous group (next-scale) override
`generate` and do not stream.

Each order class declares what callers need to know (orders/__init__.py maps names to
classes): `from_config`, `uses_value_embedding`, `needs_tokenizer_scales`,
`tokenizer_options`, `streams`, and the value conversions `from_tokenizer_values` /
`to_tokenizer_values`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

import torch
from torch import nn

from ..sequence import TokenLayout

if TYPE_CHECKING:
    from ..heads.base import Head, SamplingSettings
    from ..model_config import VideoLMConfig


@dataclass
class TeacherForcing:
    inputs_BND: torch.Tensor  # input embeddings at every slot (no slot embedding yet)
    weight_BN: torch.Tensor | None = None  # slots that count in the loss; None = all
    reveal_BN: torch.Tensor | None = None  # within-block refinement: revealed slots
    # frame denoising: added to each slot's conditioning (its noise level), and what the
    # head regresses instead of the values (the velocity ε - x0)
    cond_BND: torch.Tensor | None = None
    target: torch.Tensor | None = None
    # complete teacher forcing (next-frame diffusion): a clean copy of every slot, run in
    # the same forward ahead of the noisy ones, which see it through complete_forcing_mask
    clean_BND: torch.Tensor | None = None
    clean_cond_BND: torch.Tensor | None = None


@dataclass
class StepOutput:
    """Head inputs of one decoding step; z_uncond_BND only under classifier-free guidance."""

    z_BND: torch.Tensor
    z_uncond_BND: torch.Tensor | None = None


@dataclass
class GenerationTrace:
    """What sampling produced: a whole generation, or one step of it (prefill, group)."""

    values: torch.Tensor  # B×N(×...) token values in sequence order, context included
    z_BND: torch.Tensor  # head inputs of each slot's committed step (tests compare them)
    forward_passes: int  # transformer calls, prefill included
    reveal_BN: torch.Tensor | None = None  # refinement: what the committed input revealed

    @staticmethod
    def cat(parts: list[GenerationTrace]) -> GenerationTrace:
        """Consecutive steps as one trace (reveal_BN only when every step has one)."""
        reveals = [part.reveal_BN for part in parts]
        return GenerationTrace(
            torch.cat([part.values for part in parts], 1),
            torch.cat([part.z_BND for part in parts], 1),
            sum(part.forward_passes for part in parts),
            None if any(r is None for r in reveals) else torch.cat(reveals, 1),
        )


def schedule_fraction(group: int, first: int, total: int | None) -> float:
    """How far a generation is at `group` (0 at the first generated group `first`, towards 1
    at the last of `total` groups); 0 when the total is unknown (an open-ended stream)."""
    if total is None:
        return 0.0
    return min(1.0, (group - first) / max(1, total - first))


class Decoder(Protocol):
    """What a sampling loop may call (VideoLM provides it; it owns cache, CFG, window)."""

    batch_size: int
    settings: SamplingSettings
    generator: torch.Generator | None  # every draw of the session (orders that draw noise)

    def embed(self, values: torch.Tensor) -> torch.Tensor:
        """Token values (B×n...) -> content embeddings B×n×D."""

    def run(
        self,
        inputs_BnD: torch.Tensor,
        start: int,
        stop: int,
        commit: bool,
        cond_BnD: torch.Tensor | None = None,
    ) -> StepOutput:
        """Forward slots [start, stop) given their inputs; commit=False rolls the cache back;
        cond_BnD is added to the slots' conditioning (frame denoising: noise levels)."""

    def sample(
        self, step: StepOutput, fraction: float, exclude: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Draw values from the head; `fraction` of generation done drives CFG schedules;
        `exclude` (B×n codes, categorical heads of depth 1) bans one code per slot."""

    def confidence(self, step: StepOutput, values: torch.Tensor) -> torch.Tensor:
        """B×n score of sampled values (higher = surer; random for heads without one)."""


def block_causal_mask(
    group_q: torch.Tensor,
    frame_q: torch.Tensor,
    group_k: torch.Tensor,
    frame_k: torch.Tensor,
    window_frames: int | None = None,
    valid_BN: torch.Tensor | None = None,
    query_offset: int | None = None,
) -> torch.Tensor:
    """mask[i, j] = group_k[j] <= group_q[i] (prefix group -1 visible to all), and with a
    window only keys of frames >= frame_q[i] - window_frames (prefix always kept).

    valid_BN marks the real keys (padding False; N: the keys) and makes the mask
    B × queries × keys. query_offset: index of query 0 among the keys; each query then
    always sees itself, so a padded query never has an empty row (which would give NaN).
    """
    mask = group_k[None, :] <= group_q[:, None]
    if window_frames is not None:
        in_window = frame_k[None, :] >= frame_q[:, None] - window_frames
        mask = mask & (in_window | (group_k[None, :] < 0))
    if valid_BN is not None:
        mask = mask[None] & valid_BN[:, None, :]
    if query_offset is not None:
        keys = torch.arange(group_k.shape[0], device=group_k.device)
        queries = torch.arange(group_q.shape[0], device=group_q.device) + query_offset
        mask = mask | (keys[None, :] == queries[:, None])
    return mask


def complete_forcing_mask(
    clean: tuple[torch.Tensor, torch.Tensor],
    noisy: tuple[torch.Tensor, torch.Tensor],
    window_frames: int | None = None,
    valid_BN: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mask of [clean slots (prefix first); noisy slots] under complete teacher forcing
    (next-frame diffusion training every frame at once), from (group, frame) of each part.
    Clean slots: block-causal among themselves, blind to the noisy ones. A noisy slot of
    frame f: the clean frames before f (prefix included) and the noisy frame f, exactly what
    it sees when sampling (the cache, then the frame being denoised). valid_BN: validity of
    the clean slots (the noisy ones are all real)."""
    (group_c, frame_c), (group_n, frame_n) = clean, noisy
    kw = dict(window_frames=window_frames, valid_BN=valid_BN)
    clean_clean = block_causal_mask(group_c, frame_c, group_c, frame_c, **kw)
    # group_k <= group_q - 1: frames strictly before (the prefix, group -1, always)
    noisy_clean = block_causal_mask(group_n - 1, frame_n, group_c, frame_c, **kw)
    noisy_noisy = group_n[None, :] == group_n[:, None]
    clean_noisy = torch.zeros(len(group_c), len(group_n), dtype=torch.bool, device=group_c.device)
    if valid_BN is not None:  # B × queries × keys: the others broadcast over B
        B = valid_BN.shape[0]
        noisy_noisy, clean_noisy = noisy_noisy.expand(B, -1, -1), clean_noisy.expand(B, -1, -1)
    top = torch.cat([clean_clean, clean_noisy], dim=-1)
    bottom = torch.cat([noisy_clean, noisy_noisy], dim=-1)
    return torch.cat([top, bottom], dim=-2)


ValueEmbeddingFactory = Callable[[], nn.Module]


class TokenOrder(nn.Module):
    """Base class of orders. Subclasses set `tokens_per_frame` and implement the rest."""

    name: str = "order"
    tokens_per_frame: int
    max_refine_steps: int = 1  # > 1 only for orders with within-group refinement
    streams: bool = False  # groups inside one frame: sampling can go frame by frame
    stream_obstacle: str = "its groups span frames"  # why not, when streams is False
    # longer videos than the trained clip come from overlapping windows (lm/long_video.py),
    # for orders that attend over the whole clip and so cannot slide a KV window
    tiles: ClassVar[bool] = False
    uses_value_embedding: ClassVar[bool] = True  # inputs embed values (VideoLM.embed)
    # True: a slot's input is its own noisy value (not the group before's), so its output
    # depends on its own group, and sampling integrates a schedule of noise levels instead
    # of committing group by group (frame_denoising.py). Pairs with heads that are denoisers.
    denoising: ClassVar[bool] = False

    # -- capabilities -----------------------------------------------------------------------

    @classmethod
    def accepts(cls, head: type[Head]) -> bool:
        """Whether a head class can predict for this order (denoisers with denoisers)."""
        return head.denoiser == cls.denoising

    @classmethod
    def from_config(
        cls, config: VideoLMConfig, value_embedding: ValueEmbeddingFactory
    ) -> TokenOrder:
        """The order a VideoLM of this config uses (grid, width, config.order_options)."""
        raise NotImplementedError

    @classmethod
    def needs_tokenizer_scales(cls, values: str) -> bool:
        """Whether the order reads weights and options from the tokenizer (`values`:
        "codes" or "latents", the head's); see `tokenizer_options` and `load_tokenizer`."""
        return False

    @classmethod
    def tokenizer_options(cls, tokenizer: nn.Module) -> dict:
        """order_options read from a trained tokenizer (when `needs_tokenizer_scales`)."""
        return {}

    def load_tokenizer(self, tokenizer: nn.Module) -> None:
        """Copy what the order needs of a trained tokenizer (when `needs_tokenizer_scales`)."""
        raise TypeError(f"order {self.name!r} takes nothing from a tokenizer")

    def from_tokenizer_values(self, values: torch.Tensor) -> torch.Tensor:
        """Tokenizer values (codes, or latents B×T×H×W×C) -> the values this order predicts."""
        return values

    def to_tokenizer_values(self, values: torch.Tensor) -> torch.Tensor:
        """The inverse of `from_tokenizer_values` (for decoding what the LM generated)."""
        return values

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
        valid_BN: torch.Tensor | None = None,
        query_offset: int | None = None,
    ) -> torch.Tensor:
        """From (group, frame) of queries and keys; block-causal unless overridden."""
        return block_causal_mask(
            *layout_q, *layout_k, window_frames, valid_BN=valid_BN, query_offset=query_offset
        )

    def teacher_forcing(
        self,
        values: torch.Tensor,
        embed: Callable[[torch.Tensor], torch.Tensor],
        generator: torch.Generator | None = None,
        reveal_BN: torch.Tensor | None = None,
    ) -> TeacherForcing:
        raise NotImplementedError

    # -- sampling ---------------------------------------------------------------------------

    @property
    def groups_per_frame(self) -> int:
        """Groups of one frame (for orders that stream: no group spans two frames)."""
        return self.layout(1).num_groups

    def check_refine_steps(self, refine_steps: int) -> None:
        if not 1 <= refine_steps <= self.max_refine_steps:
            raise ValueError(
                f"refine_steps must be in [1, {self.max_refine_steps}] for order "
                f"{self.name!r}, got {refine_steps}"
            )

    def stream_refusal(self, settings: SamplingSettings) -> str | None:
        """Why this order cannot sample frame by frame with `settings` (None: it can)."""
        if self.streams:
            return None
        return (
            f"order {self.name!r} cannot stream ({self.stream_obstacle}); use "
            "VideoLM.generate (VideoGenerator.__call__) for the whole clip"
        )

    def check_streams(self, settings: SamplingSettings) -> None:
        """ValueError with `stream_refusal`'s reason, if there is one."""
        reason = self.stream_refusal(settings)
        if reason is not None:
            raise ValueError(reason)

    def prefill(self, decoder: Decoder, context: torch.Tensor) -> GenerationTrace:
        """Commit the context (values of whole leading groups, B×n(...)) in one forward."""
        raise NotImplementedError

    def generate_group(
        self,
        decoder: Decoder,
        previous: torch.Tensor | None,
        group: int,
        refine_steps: int,
        fraction: float,
    ) -> GenerationTrace:
        """Sample and commit `group`, given the values of the group before (None for group
        0); `fraction` of the generation done drives CFG schedules."""
        raise NotImplementedError

    def generate(
        self,
        decoder: Decoder,
        layout: TokenLayout,
        context: torch.Tensor | None,
        generator: torch.Generator | None = None,
        refine_steps: int = 1,
    ) -> GenerationTrace:
        """Fill every slot of `layout` after the context (values of whole leading groups):
        `prefill`, then `generate_group` for each later group."""
        self.check_refine_steps(refine_steps)
        known, N = (0 if context is None else context.shape[1]), len(layout)
        if known >= N or (known and layout.group_N[known] == layout.group_N[known - 1]):
            raise ValueError(
                f"context must hold whole blocks (groups) of slots, fewer than {N}: got {known}"
            )
        first, total = int(layout.group_N[known]), layout.num_groups
        parts = [self.prefill(decoder, context)] if known else []
        for group in range(first, total):
            previous = parts[-1].values if parts else None
            fraction = schedule_fraction(group, first, total)
            parts.append(self.generate_group(decoder, previous, group, refine_steps, fraction))
        return GenerationTrace.cat(parts)
