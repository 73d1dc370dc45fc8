"""Who presses the buttons while collecting: uniform random, sticky random, a mixture of
them, and a wrapper that presses FIRE when the game waits.

Games such as Breakout stand still until FIRE is pressed, at the start and after every lost
life; a random policy that rarely presses it records mostly a waiting screen. `FireWhenWaiting`
presses FIRE at the start of an episode, when ale's lives() drops, and when the frame has
not changed for `stall_steps` agent steps; games without FIRE in their action set play the
base policy unchanged. Every policy draws from the one numpy Generator it is given, so a seed
fixes the episode. Knows actions and observations; knows nothing about the emulator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, Protocol

import numpy as np

BaseKind = Literal["random", "sticky"]


@dataclass
class Observation:
    """What a policy may look at before choosing the action of one agent step."""

    frame_HWC: np.ndarray  # the frame the action is taken at (resized, uint8)
    lives: int  # ale's lives(); 0 for games that do not count lives (Pong)


class Policy(Protocol):
    def __call__(self, observation: Observation) -> int: ...


@dataclass
class PolicyConfig:
    """The collection policy; stored in dataset.json as it is here.

    `kind` picks the base policy; "mixture" draws one of `mixture` per episode with
    `mixture_weights` (the episode's meta.json records which one played).
    """

    kind: Literal["random", "sticky", "mixture"] = "random"
    repeat: int = 4  # random: each action held for a uniform 1..repeat agent steps
    sticky_mean: float = 8.0  # sticky: hold lengths are geometric with this mean (steps)
    mixture: tuple[BaseKind, ...] = ("random", "sticky")
    mixture_weights: tuple[float, ...] = (0.5, 0.5)
    fire_when_waiting: bool = True  # FIRE at start, after a lost life, after a still screen
    stall_steps: int = 8  # agent steps of an unchanged frame that count as waiting

    def __post_init__(self):
        if self.repeat < 1 or self.stall_steps < 1:
            raise ValueError(
                f"repeat and stall_steps must be >= 1, got {self.repeat}, {self.stall_steps}"
            )
        if self.sticky_mean < 1.0:
            raise ValueError(f"sticky_mean must be >= 1 step, got {self.sticky_mean}")
        if len(self.mixture) != len(self.mixture_weights) or not self.mixture:
            raise ValueError(
                f"mixture {self.mixture} and mixture_weights {self.mixture_weights} must be "
                "non-empty and of equal length"
            )
        if min(self.mixture_weights) < 0 or sum(self.mixture_weights) <= 0:
            raise ValueError(
                f"mixture_weights must be >= 0 with a positive sum, got {self.mixture_weights}"
            )

    def record(self) -> dict:
        """JSON-ready parameters for dataset.json."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


class RandomRepeatPolicy:
    """Uniform random actions, each held for a uniform 1..repeat agent steps."""

    def __init__(self, num_actions: int, repeat: int, rng: np.random.Generator):
        self.num_actions, self.repeat, self.rng = num_actions, repeat, rng
        self._action, self._left = 0, 0

    def __call__(self, observation: Observation | None = None) -> int:
        if self._left == 0:
            self._action = int(self.rng.integers(self.num_actions))
            self._left = int(self.rng.integers(1, self.repeat + 1))
        self._left -= 1
        return self._action


class StickyRandomPolicy:
    """Uniform random actions whose hold lengths are geometric with mean `mean_steps`: each
    step keeps the previous action with probability 1 - 1/mean_steps (long, varied holds
    move a paddle across the screen, which short uniform holds rarely do)."""

    def __init__(self, num_actions: int, mean_steps: float, rng: np.random.Generator):
        self.num_actions, self.rng = num_actions, rng
        self.keep = 1.0 - 1.0 / mean_steps
        self._action: int | None = None

    def __call__(self, observation: Observation | None = None) -> int:
        if self._action is None or self.rng.random() >= self.keep:
            self._action = int(self.rng.integers(self.num_actions))
        return self._action


class FireWhenWaiting:
    """Press FIRE for one step when the game waits, otherwise play `base`."""

    def __init__(self, base: Policy, fire_action: int, stall_steps: int):
        self.base, self.fire_action, self.stall_steps = base, fire_action, stall_steps
        self._previous: Observation | None = None
        self._still = 0  # agent steps the frame has not changed

    def __call__(self, observation: Observation) -> int:
        previous, self._previous = self._previous, observation
        if previous is None:  # the episode starts: many games wait for FIRE here
            return self.fire_action
        if np.array_equal(previous.frame_HWC, observation.frame_HWC):
            self._still += 1
        else:
            self._still = 0
        if observation.lives < previous.lives or self._still >= self.stall_steps:
            self._still = 0
            return self.fire_action
        return self.base(observation)


@dataclass
class EpisodePolicy:
    """The policy of one episode and what to record about it."""

    act: Policy
    base: BaseKind
    fire_action: int | None = None  # None: the game has no FIRE or the wrapper is off


def base_policy(kind: BaseKind, config: PolicyConfig, num_actions: int, rng) -> Policy:
    if kind == "random":
        return RandomRepeatPolicy(num_actions, config.repeat, rng)
    if kind == "sticky":
        return StickyRandomPolicy(num_actions, config.sticky_mean, rng)
    raise ValueError(f"policy kind {kind!r} is not one of random, sticky")


def episode_policy(
    config: PolicyConfig, action_meanings: list[str], rng: np.random.Generator
) -> EpisodePolicy:
    """Build the policy for one episode (a mixture draws its component here)."""
    kind = config.kind
    if kind == "mixture":
        weights = np.asarray(config.mixture_weights, dtype=np.float64)
        kind = config.mixture[int(rng.choice(len(weights), p=weights / weights.sum()))]
    act = base_policy(kind, config, len(action_meanings), rng)
    fire = action_meanings.index("FIRE") if "FIRE" in action_meanings else None
    if config.fire_when_waiting and fire is not None:
        return EpisodePolicy(FireWhenWaiting(act, fire, config.stall_steps), kind, fire)
    return EpisodePolicy(act, kind, None)
