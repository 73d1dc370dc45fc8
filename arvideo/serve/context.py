"""Which real clip the play page starts from, and a sentence saying where it comes from.

In order: `--context` (a data set folder's val clip, or a video file), the sample clip saved
in the model folder at export (arvideo/sample_clip.py), else no clip: the model samples the
first frame itself. Knows files and data sets; nothing about sessions or the web.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arvideo.sample_clip import read_sample_clip


@dataclass
class StartClip:
    frames_THWC: np.ndarray | None  # uint8; None: the model draws the first frame
    actions_T: np.ndarray | None  # int64, the action taken at each frame
    source: str  # shown on the page


def start_clip(
    model_dir: Path, frame_size: tuple[int, int], context: str | None, clip: int
) -> StartClip:
    if context is not None:
        from arvideo.generate_cli import load_context_clip

        loaded = load_context_clip(context, clip)
        where = f"val clip {clip} of {context}" if Path(context).is_dir() else str(context)
        return StartClip(loaded.frames_THWC, loaded.actions_T, f"--context: {where}")
    sample = read_sample_clip(model_dir, frame_size)
    if sample is not None:
        return StartClip(sample.frames_THWC, sample.actions_T, sample.source)
    return StartClip(None, None, "no clip (the model folder has no sample/): the model draws it")
