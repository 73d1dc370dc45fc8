"""WorldModelSession: play inside the world model, one action in, one frame out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from arvideo.generation_inputs import check_actions
from arvideo.generation_numbers import whole_number
from arvideo.generation_run import FrameDecoder, GenerationRun

if TYPE_CHECKING:  # generate.py imports this module
    from arvideo.generate import VideoGenerator


class WorldModelSession:
    """Play inside the world model: `step(action) -> frame` (uint8 H×W×3), one clip.

    The KV cache keeps the last `window_frames` frames and each step decodes one latent frame
    (the streaming decoder keeps a few frames of history per causal conv), so step cost and
    memory stay constant however long it runs.
    """

    def __init__(self, generator: VideoGenerator, run: GenerationRun):
        self.generator, self._run = generator, run
        self._decoder = FrameDecoder(generator, run.context_values, run.still)
        self._last_action: int | None = None
        self.steps = 0

    @property
    def cache_length(self) -> int:
        """Tokens in the KV cache (bounded by the window)."""
        return self._run.stream.cache_length

    @torch.no_grad()
    def step(self, action: int | None = None) -> np.ndarray:
        """The next frame, after taking `action` (an int id) at the current frame.

        None = the null action. The first step of a session without context has no current
        frame to act in: it must be None (an action there is refused, never dropped)."""
        gen = self.generator
        action_B = None
        if action is not None:
            action_B = check_actions(gen, [session_action(action)], 1, 1, "action")[:, 0]
            if not self._run.stream.frames:
                raise ValueError(
                    f"action={action!r} given for the first frame of a session without "
                    "context: there is no frame yet to act in; call step() first (or give "
                    "context)"
                )
        with gen._autocast():
            values = self._run.stream.step(action_B)
            frames = self._decoder.push(values.values[:, None])
        self.steps += 1
        return frames[0, -1]


def session_action(action) -> int:
    """One action id: an int, a numpy int or a one-element integer tensor (never 2.7 or
    True, which int() would quietly turn into 2 or 1)."""
    if isinstance(action, torch.Tensor):
        if action.numel() != 1 or action.dtype.is_floating_point or action.dtype == torch.bool:
            raise TypeError(f"action must be one integer id, got tensor {action!r}")
        return int(action.item())
    return whole_number("action", action, low=0)
