"""Long videos from a model that attends over the whole clip: overlapping windows.

A full-sequence model (full_sequence_flow, MovieGen / HunyuanVideo) denoises a whole clip at
once and was trained on clips of T frames (`config.grid[0]`), so it cannot slide a KV window
as the causal orders do. A longer video is made window by window: window k + 1 takes the
last `overlap` frames of window k as its context (held at level 0, so they come out exactly
as window k made them) and denoises T - overlap new frames after them, each window with the
actions of its own frames; one generator carries across windows. The seam is measured, not
hidden: arvideo/seams.py compares the frame-to-frame change at window starts with the
change inside windows.

Knows VideoLM.decode and the trained clip length; nothing of pixels or orders' internals.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .conditioning import Conditions
from .decoding import DecodeOptions
from .model import VideoLM


@dataclass
class Window:
    start: int  # its first frame in the whole video
    frames: int  # its length (context included)
    context: int  # leading frames given, not generated


@dataclass
class TiledTokens:
    values: torch.Tensor  # codes or latents B×T×..., the whole video, context included
    forward_passes: int
    windows: list[Window]
    window_values: list[torch.Tensor]  # what each window's decode returned, B×frames×...

    @property
    def seams(self) -> list[int]:
        """The first generated frame of every window after the first."""
        return [w.start + w.context for w in self.windows[1:]]


def plan_windows(total: int, clip: int, context: int, overlap: int) -> list[Window]:
    """Windows of at most `clip` frames covering `total` frames after `context` given ones."""
    if not 1 <= overlap < clip:
        raise ValueError(f"overlap must be in [1, {clip}) (the clip length {clip}), got {overlap}")
    if not 0 <= context < min(clip, total):
        raise ValueError(
            f"context must be fewer frames than the clip length {clip} and the video "
            f"({total}), got {context}"
        )
    windows = [Window(0, min(total, clip), context)]
    while windows[-1].start + windows[-1].frames < total:
        start = windows[-1].start + windows[-1].frames - overlap
        windows.append(Window(start, min(clip, total - start), overlap))
    return windows


def generate_tiled(
    model: VideoLM,
    context: torch.Tensor | None,
    conditions: Conditions | None,
    num_frames: int,
    options: DecodeOptions,
    overlap: int | None = None,
    batch_size: int | None = None,
) -> TiledTokens:
    """`num_frames` frames in total (context included), as `VideoLM.decode`, in windows of
    the trained clip length sharing `overlap` frames (default: half a clip)."""
    clip = model.config.grid[0]
    overlap = max(1, clip // 2) if overlap is None else overlap
    known = 0 if context is None else context.shape[1]
    conditions = conditions or Conditions()
    windows = plan_windows(num_frames, clip, known, overlap)
    video, outputs, passes = context, [], 0
    for window in windows:
        given = None if window.start == 0 and not known else video[:, window.start :]
        part = model.decode(
            given, _from_frame(conditions, window.start), window.frames, options, batch_size
        )
        outputs.append(part.values)
        passes += part.forward_passes
        new = part.values[:, window.context :]
        video = part.values if video is None else torch.cat([video, new], dim=1)
    return TiledTokens(video, passes, windows, outputs)


def _from_frame(conditions: Conditions, start: int) -> Conditions:
    """The conditions of a window that starts at frame `start` (actions shift with it)."""
    if conditions.actions_BT is None or start == 0:
        return conditions
    return replace(conditions, actions_BT=conditions.actions_BT[:, start:])
