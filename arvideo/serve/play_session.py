"""One player's game: a `WorldModelSession` started from the start clip, with its settings.

`step` advances it; `reset` goes back to the start clip; `configure` changes temperature,
top-k or denoising steps by starting a new session from the frames on screen (the last context
window's frames and actions), because a session's sampling settings are fixed when it is
made: play continues where it was. Memory stays constant: the session's cache is bounded by
its window and only that many recent frames are kept. Knows the generation API; nothing
about sockets or pages.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from arvideo.generate import VideoGenerator, WorldModelSession
from arvideo.serve.context import StartClip


@dataclass
class PlaySettings:
    """None: the model's own default (`VideoLMConfig.sampling`), filled in by PlaySession."""

    temperature: float | None = None
    top_k: int | None = None  # codes kept per draw (categorical heads); 0 = every code
    steps: int | None = None  # denoising steps (latent heads only)
    seed: int = 0  # every (re)start draws from the same seed: a reset replays the same game
    compile: bool = False  # compiled decoding steps (session's `compile`); set at start only


@dataclass
class StepResult:
    frame_HWC: np.ndarray  # uint8
    step: int  # frames generated since the last (re)start from the start clip
    action: int | None
    step_ms: float


class PlaySession:
    def __init__(self, gen: VideoGenerator, start: StartClip, settings: PlaySettings):
        self.gen, self.start, self.settings = gen, start, settings
        model = gen.lm.config.sampling_settings()  # the model folder's defaults
        if settings.temperature is None:
            settings.temperature = model.temperature
        if settings.top_k is None:
            settings.top_k = model.top_k or 0
        if settings.steps is None:
            settings.steps = model.steps
        self.steps, self._session, self._recent = 0, None, deque()  # reset() starts it

    @property
    def context_frames(self) -> int:
        """Frames a (re)start gives the model: its default context, within its window."""
        return max(1, min(self.gen.info.context_frames or 1, self.gen.max_context_frames))

    def reset(self) -> StepResult:
        """Back to the start clip; returns the frame shown first (the context's last)."""
        frames, actions = self.start.frames_THWC, self.start.actions_T
        c = self.context_frames if frames is None else min(self.context_frames, len(frames))
        self.steps = 0
        if frames is None:
            self._recent = deque(maxlen=self.gen.max_context_frames)
            self._session = self._new_session(None, None)
            return self._push(self._session.step(None), None, 0.0)
        return self._restart(list(frames[:c]), None if actions is None else list(actions[:c]))

    def configure(
        self, temperature: float | None, top_k: int | None, steps: int | None
    ) -> StepResult:
        """New settings (None: unchanged) from the frames on screen on."""
        if temperature is not None:
            self.settings.temperature = temperature
        if top_k is not None:
            self.settings.top_k = top_k
        if steps is not None:
            self.settings.steps = steps
        recent = list(self._recent)[-self.context_frames :]
        frames = [frame for frame, _ in recent]
        actions = [action for _, action in recent]
        return self._restart(frames, actions)

    def step(self, action: int | None) -> StepResult:
        started = time.perf_counter()
        frame = self._session.step(action)
        self.steps += 1
        if self._recent:  # the action was taken at the previous frame
            self._recent[-1] = (self._recent[-1][0], action)
        return self._push(frame, action, (time.perf_counter() - started) * 1e3)

    def _restart(self, frames: list, actions: list | None) -> StepResult:
        """A session whose context is `frames` (actions[t] taken at frame t)."""
        self._recent = deque(maxlen=self.gen.max_context_frames)
        taken = None
        if actions is not None and self.gen.lm.config.num_actions and len(frames) > 1:
            taken = [0 if a is None else int(a) for a in actions[: len(frames) - 1]]
        self._session = self._new_session(np.stack(frames), taken)
        for index, frame in enumerate(frames):
            known = actions[index] if actions is not None and index < len(actions) else None
            self._recent.append((frame, None if known is None else int(known)))
        return StepResult(frames[-1], self.steps, None, 0.0)

    def _new_session(self, context, actions) -> WorldModelSession:
        settings = self.settings
        options = dict(
            temperature=settings.temperature, seed=settings.seed, compile=settings.compile
        )
        if self.gen.lm.config.values == "latents":
            options["steps"] = self.settings.steps
        else:
            options["top_k"] = self.settings.top_k  # 0: every code, over the model's default
        if actions is not None:
            options["actions"] = np.asarray(actions, dtype=np.int64)
        return self.gen.session(context=context, **options)

    def _push(self, frame_HWC, action, step_ms) -> StepResult:
        self._recent.append((frame_HWC, None))
        return StepResult(frame_HWC, self.steps, action, step_ms)
