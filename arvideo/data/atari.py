"""Collect Atari gameplay clips from ale-py (gymnasium 1.x), with every action recorded.

The base environment runs at frameskip 1 with no sticky actions; our own wrapper
(`AtariGame`) repeats each agent action `frame_skip` raw frames, max-pools the last two raw
frames (Atari sprites flicker), optionally makes actions sticky (Machado et al. 2018) and
plays up to `noop_max` no-ops after reset. Frames are resized with PIL, no OpenCV.

The policy is uniformly random with action repeat. Everything random draws from numpy
Generators derived from one seed, so the same seed gives the same shards byte for byte.
This module knows the emulator and the policy; cutting clips and writing shards is clips.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from .clips import CollectSummary, DatasetWriter, Episode, progress_bar, summarize, val_episode_ids

Resample = Literal["box", "bilinear", "bicubic", "lanczos", "nearest"]
_PIL_RESAMPLE = {
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "nearest": Image.Resampling.NEAREST,
}


def resize_frame(frame_HWC: np.ndarray, size: int, resample: Resample = "box") -> np.ndarray:
    """Resize an RGB uint8 frame to size×size with PIL.

    "box" (area average) is the default: a 2×4 px Pong ball at 160×210 becomes a dim but
    present blob at 64×64, where "nearest" can skip the rows or columns holding it.
    """
    if resample not in _PIL_RESAMPLE:
        raise ValueError(f"resample must be one of {sorted(_PIL_RESAMPLE)}, got {resample!r}")
    image = Image.fromarray(frame_HWC).resize((size, size), resample=_PIL_RESAMPLE[resample])
    return np.asarray(image, dtype=np.uint8)


@dataclass
class AtariConfig:
    game: str = "Pong"
    size: int = 64
    frame_skip: int = 4
    sticky_prob: float = 0.0  # 0.25 in Machado et al.; 0 keeps frames a function of actions
    noop_max: int = 30  # up to this many no-op agent steps after reset (varied starts)
    action_repeat: int = 4  # the policy holds each random action for 1..action_repeat steps
    resample: Resample = "box"
    max_steps_per_episode: int | None = None  # agent steps; None plays to the game's end

    def __post_init__(self):
        if self.frame_skip < 1 or self.action_repeat < 1 or self.size < 1:
            raise ValueError("frame_skip, action_repeat and size must be >= 1")
        if not 0.0 <= self.sticky_prob < 1.0:
            raise ValueError(f"sticky_prob must be in [0, 1), got {self.sticky_prob}")


@dataclass
class StepResult:
    frame_HWC: np.ndarray  # resized, max over the last two raw frames
    reward: float  # summed over the skipped raw frames
    terminated: bool
    truncated: bool


class AtariGame:
    """One ale-py game behind our frameskip / max-pool / sticky / no-op wrapper."""

    def __init__(self, config: AtariConfig):
        import ale_py
        import gymnasium as gym

        gym.register_envs(ale_py)
        env_id = f"ALE/{config.game}-v5"
        try:
            self.env = gym.make(env_id, frameskip=1, repeat_action_probability=0.0)
        except gym.error.Error as error:
            raise ValueError(f"game={config.game!r}: no ale-py environment {env_id}") from error
        self.config = config
        self.action_meanings: list[str] = list(self.env.unwrapped.get_action_meanings())
        self._last_raw_action = 0

    @property
    def num_actions(self) -> int:
        return len(self.action_meanings)

    def reset(self, seed: int, rng: np.random.Generator) -> np.ndarray:
        """Reset with an emulator seed, then play 0..noop_max no-ops; returns the frame."""
        raw, _ = self.env.reset(seed=seed)
        self._last_raw_action = 0
        frame = resize_frame(raw, self.config.size, self.config.resample)
        for _ in range(int(rng.integers(0, self.config.noop_max + 1))):
            result = self.step(0, rng)
            if result.terminated or result.truncated:
                return self.reset(seed + 1, rng)
            frame = result.frame_HWC
        return frame

    def step(self, action: int, rng: np.random.Generator) -> StepResult:
        reward, terminated, truncated, raws = 0.0, False, False, []
        for _ in range(self.config.frame_skip):
            if self.config.sticky_prob == 0 or rng.random() >= self.config.sticky_prob:
                self._last_raw_action = action
            raw, raw_reward, terminated, truncated, _ = self.env.step(self._last_raw_action)
            reward += float(raw_reward)
            raws = [*raws[-1:], raw]
            if terminated or truncated:
                break
        pooled = np.maximum(raws[0], raws[-1])
        frame = resize_frame(pooled, self.config.size, self.config.resample)
        return StepResult(frame, reward, bool(terminated), bool(truncated))

    def close(self) -> None:
        self.env.close()


class RandomRepeatPolicy:
    """Uniform random actions, each held for a uniform 1..repeat agent steps."""

    def __init__(self, num_actions: int, repeat: int, rng: np.random.Generator):
        self.num_actions, self.repeat, self.rng = num_actions, repeat, rng
        self._action, self._left = 0, 0

    def __call__(self) -> int:
        if self._left == 0:
            self._action = int(self.rng.integers(self.num_actions))
            self._left = int(self.rng.integers(1, self.repeat + 1))
        self._left -= 1
        return self._action


def play_episode(game: AtariGame, index: int, seed_sequence: np.random.SeedSequence) -> Episode:
    """Play one episode; per-frame arrays have one row per frame (see shards.py)."""
    rng = np.random.default_rng(seed_sequence)
    env_seed = int(seed_sequence.generate_state(1)[0] % (2**31 - 1))
    policy = RandomRepeatPolicy(game.num_actions, game.config.action_repeat, rng)
    frames = [game.reset(env_seed, rng)]
    actions, rewards, result = [], [], None
    cap = game.config.max_steps_per_episode
    while cap is None or len(actions) < cap:
        actions.append(policy())
        result = game.step(actions[-1], rng)
        frames.append(result.frame_HWC)
        rewards.append(result.reward)
        if result.terminated or result.truncated:
            break
    terminated = result is not None and result.terminated
    dones = np.zeros(len(frames), dtype=bool)
    truncated = np.zeros(len(frames), dtype=bool)
    dones[-1], truncated[-1] = terminated, not terminated
    per_frame = {
        "actions.npy": np.array([*actions, 0], dtype=np.int64),
        "rewards.npy": np.array([*rewards, 0.0], dtype=np.float32),
        "dones.npy": dones,
        "truncated.npy": truncated,
    }
    meta = {
        "source": "atari",
        "game": game.config.game,
        "action_meanings": game.action_meanings,
        "episode_frames": len(frames),
    }
    return Episode(index, np.stack(frames), per_frame, meta)


def collect_atari(
    game: str = "Pong",
    episodes: int = 10,
    out: str | None = None,
    size: int = 64,
    clip_length: int = 16,
    stride: int | None = None,
    frame_skip: int = 4,
    sticky_prob: float = 0.0,
    noop_max: int = 30,
    action_repeat: int = 4,
    resample: Resample = "box",
    max_steps_per_episode: int | None = None,
    val_fraction: float = 0.1,
    shard_size: int = 256,
    seed: int = 0,
    progress: bool = True,
) -> CollectSummary:
    """Play Atari episodes with a random policy and write clip shards + dataset.json.

    Args:
        game: ale-py game name, e.g. Pong, Breakout, SpaceInvaders.
        episodes: number of episodes to play.
        out: output folder (default data/atari/<game>); must not hold a dataset yet.
        size: frames are resized to size×size.
        clip_length: frames per clip.
        stride: frames between clip starts (default clip_length: no overlap).
        frame_skip: raw emulator frames per agent step (max over the last two).
        sticky_prob: probability that the previous raw action repeats (0 = off).
        noop_max: up to this many no-op steps after reset.
        action_repeat: the random policy holds each action for 1..action_repeat steps.
        resample: PIL resampling; box keeps small objects such as the Pong ball.
        max_steps_per_episode: cap on agent steps per episode (None plays to the end).
        val_fraction: fraction of episodes (the last ones) that go to the val split.
        shard_size: clips per shard.
        seed: one seed for policy, no-ops, sticky actions and emulator.
        progress: show a progress bar.
    """
    config = AtariConfig(
        game, size, frame_skip, sticky_prob, noop_max, action_repeat, resample,
        max_steps_per_episode,
    )  # fmt: skip
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    atari = AtariGame(config)
    info = {
        "source": "atari",
        "game": game,
        "size": [size, size],
        "seed": seed,
        "action_space": {"n": atari.num_actions, "meanings": atari.action_meanings},
        "sample_keys": sorted(
            ["frames.npy", "actions.npy", "rewards.npy", "dones.npy", "truncated.npy", "meta.json"]
        ),
        "config": {**config.__dict__, "episodes": episodes, "val_fraction": val_fraction},
    }
    out = out or f"data/atari/{game.lower()}"
    seeds = np.random.SeedSequence(seed).spawn(episodes)
    writer = DatasetWriter(
        out, info, val_episode_ids(episodes, val_fraction), clip_length, stride or clip_length,
        shard_size,
    )  # fmt: skip
    bar, task = progress_bar(progress, f"{game}: episodes", episodes)
    try:
        with bar, writer:
            for index in range(episodes):
                clips = writer.add_episode(play_episode(atari, index, seeds[index]))
                bar.update(task, advance=1, description=f"{game}: episode {index} ({clips} clips)")
    finally:
        atari.close()
    return summarize(writer)
