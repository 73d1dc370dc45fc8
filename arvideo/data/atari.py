"""Collect Atari gameplay clips from ale-py (gymnasium 1.x), with every action recorded.

The base environment runs at frameskip 1 with no sticky actions; our own wrapper
(`AtariGame`) repeats each agent action `frame_skip` raw frames, max-pools the last two raw
frames (Atari sprites flicker), optionally makes actions sticky (Machado et al. 2018) and
plays up to `noop_max` no-ops after reset. Frames are resized with PIL, no OpenCV. Each frame
keeps its ground truth: reward, episode end, and the 128 bytes of the console's RAM.

What to play is a count of whole episodes (`episodes`) or an exact number of frames
(`frames`): then train gets the first frames and val the rest (clips.split_frame_budget),
and the episode that reaches a split's budget is cut there, its last frame marked
`truncated` like a step cap. The policy (policies.py) is recorded in dataset.json with what
the collection gave (collect_stats.py). Everything random draws from numpy Generators derived
from one seed, so the same arguments give the same shards byte for byte. This module knows
the emulator; cutting clips and writing shards is clips.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from .atari_games import resolve_game
from .clips import (
    CollectSummary,
    DatasetWriter,
    Episode,
    progress_bar,
    split_frame_budget,
    summarize,
    val_episode_ids,
)
from .collect_stats import GameStats
from .policies import Observation, PolicyConfig, episode_policy

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
    resample: Resample = "box"
    max_steps_per_episode: int | None = None  # agent steps; None plays to the game's end

    def __post_init__(self):
        if self.frame_skip < 1 or self.size < 1:
            raise ValueError(
                f"frame_skip and size must be >= 1, got {self.frame_skip}, {self.size}"
            )
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
        env_id = f"ALE/{resolve_game(config.game)}-v5"
        self.env = gym.make(env_id, frameskip=1, repeat_action_probability=0.0)
        self.config = config
        self.action_meanings: list[str] = list(self.env.unwrapped.get_action_meanings())
        self._last_raw_action = 0

    @property
    def num_actions(self) -> int:
        return len(self.action_meanings)

    def lives(self) -> int:
        """ale's lives counter (0 for games without lives, such as Pong)."""
        return int(self.env.unwrapped.ale.lives())

    def ram(self) -> np.ndarray:
        """The console's 128 bytes of RAM now (after the last raw frame played)."""
        return np.array(self.env.unwrapped.ale.getRAM(), dtype=np.uint8)

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


def play_episode(
    game: AtariGame,
    index: int,
    seed_sequence: np.random.SeedSequence,
    policy: PolicyConfig | None = None,
    max_frames: int | None = None,
) -> Episode:
    """Play one episode of at most `max_frames` frames (and the config's step cap); per-frame
    arrays have one row per frame (see shards.py)."""
    rng = np.random.default_rng(seed_sequence)
    env_seed = int(seed_sequence.generate_state(1)[0] % (2**31 - 1))
    chosen = episode_policy(policy or PolicyConfig(), game.action_meanings, rng)
    frames, actions, rewards, result = [game.reset(env_seed, rng)], [], [], None
    rams = [game.ram()]
    caps = [game.config.max_steps_per_episode, None if max_frames is None else max_frames - 1]
    cap = min((c for c in caps if c is not None), default=None)
    while cap is None or len(actions) < cap:
        actions.append(chosen.act(Observation(frames[-1], game.lives())))
        result = game.step(actions[-1], rng)
        frames.append(result.frame_HWC)
        rewards.append(result.reward)
        rams.append(game.ram())
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
        "ram.npy": np.stack(rams),
    }
    meta = {
        "source": "atari",
        "game": game.config.game,
        "action_meanings": game.action_meanings,
        "episode_frames": len(frames),
        "policy": chosen.base,
        "fire_action": chosen.fire_action,
    }
    return Episode(index, np.stack(frames), per_frame, meta)


SAMPLE_KEYS = sorted(
    ["frames.npy", "actions.npy", "rewards.npy", "dones.npy", "truncated.npy", "ram.npy",
     "meta.json"]
)  # fmt: skip


class Collection:
    """Plays episodes into a DatasetWriter, counting them in GameStats as they come."""

    def __init__(self, atari: AtariGame, writer: DatasetWriter, policy: PolicyConfig, seed: int):
        self.atari, self.writer, self.policy, self.seed = atari, writer, policy, seed
        self.stats = GameStats(atari.config.game)
        self.played = 0  # episodes so far; also the next episode's index

    def play(self, split: str | None = None, max_frames: int | None = None) -> Episode:
        # SeedSequence(seed).spawn(n)[i] without knowing n: a budget decides n as it goes
        seeds = np.random.SeedSequence(self.seed, spawn_key=(self.played,))
        episode = play_episode(self.atari, self.played, seeds, self.policy, max_frames)
        self.writer.add_episode(episode, split)
        self.stats.add(
            episode.frames_THWC, episode.per_frame["rewards.npy"],
            bool(episode.per_frame["dones.npy"][-1]),
        )  # fmt: skip
        self.writer.info["stats"] = self.stats.record()  # in every manifest rewrite
        self.played += 1
        return episode

    def play_episodes(self, episodes: int, on_episode) -> None:
        for _ in range(episodes):
            on_episode(self.play())

    def play_frames(self, frames: int, val_fraction: float, on_episode) -> None:
        for budget in split_frame_budget(frames, val_fraction):
            left = budget.frames
            while left > 0:
                episode = self.play(budget.split, max_frames=left)
                left -= len(episode.frames_THWC)
                on_episode(episode)


def collect_atari(
    game: str = "Pong",
    episodes: int | None = None,
    frames: int | None = None,
    out: str | None = None,
    size: int = 64,
    clip_length: int = 16,
    stride: int | None = None,
    frame_skip: int = 4,
    sticky_prob: float = 0.0,
    noop_max: int = 30,
    policy: PolicyConfig | None = None,
    resample: Resample = "box",
    max_steps_per_episode: int | None = None,
    val_fraction: float = 0.1,
    shard_size: int = 256,
    seed: int = 0,
    progress: bool = True,
) -> CollectSummary:
    """Play Atari episodes and write clip shards + dataset.json (policy and stats included).

    Args:
        game: ale-py game name, e.g. Pong, Breakout, SpaceInvaders (case-insensitive).
        episodes: play this many whole episodes (the last val_fraction of them are val).
            Give `episodes` or `frames`; neither plays 10 episodes.
        frames: play exactly this many frames: train first, then val (val_fraction of them);
            the episode that reaches a split's budget is cut and its last frame marked
            truncated. Clips cover the frames except each episode's tail shorter than a clip.
        out: output folder (default data/atari/<game>); must not hold a dataset yet.
        size: frames are resized to size×size.
        clip_length: frames per clip.
        stride: frames between clip starts (default clip_length: no overlap).
        frame_skip: raw emulator frames per agent step (max over the last two).
        sticky_prob: probability that the previous raw action repeats (0 = off).
        noop_max: up to this many no-op steps after reset.
        policy: who plays (policies.PolicyConfig; default: random holds of 1..4 steps, with
            FIRE when the game waits).
        resample: PIL resampling; box keeps small objects such as the Pong ball.
        max_steps_per_episode: cap on agent steps per episode (None plays to the end).
        val_fraction: share of episodes (or of the frame budget) held out as the val split.
        shard_size: clips per shard.
        seed: one seed for policy, no-ops, sticky actions and emulator.
        progress: show a progress bar, and print what was played.
    """
    if episodes is not None and frames is not None:
        raise ValueError(f"give episodes={episodes} or frames={frames}, not both")
    if episodes is None and frames is None:
        episodes = 10
    if episodes is not None and episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    policy = policy or PolicyConfig()
    config = AtariConfig(
        resolve_game(game), size, frame_skip, sticky_prob, noop_max, resample,
        max_steps_per_episode,
    )  # fmt: skip
    atari = AtariGame(config)
    info = {
        "source": "atari",
        "game": config.game,
        "size": [size, size],
        "seed": seed,
        "action_space": {"n": atari.num_actions, "meanings": atari.action_meanings},
        "sample_keys": SAMPLE_KEYS,
        "policy": policy.record(),
        "config": {**config.__dict__, "episodes": episodes, "frames": frames,
                   "val_fraction": val_fraction},
    }  # fmt: skip
    val_ids = val_episode_ids(episodes, val_fraction) if episodes is not None else set()
    writer = DatasetWriter(
        out or f"data/atari/{config.game.lower()}", info, val_ids, clip_length,
        stride or clip_length, shard_size,
    )  # fmt: skip
    collection = Collection(atari, writer, policy, seed)
    bar, task = progress_bar(progress, f"{config.game}", episodes or frames)

    def on_episode(episode: Episode) -> None:
        advance = 1 if episodes is not None else len(episode.frames_THWC)
        bar.update(task, advance=advance, description=f"{config.game}: episode {episode.index}")

    try:
        with bar, writer:
            if episodes is not None:
                collection.play_episodes(episodes, on_episode)
            else:
                collection.play_frames(frames, val_fraction, on_episode)
    finally:
        atari.close()
    if progress:
        print(collection.stats.report())
    summary = summarize(writer)
    summary.stats = collection.stats.record()
    return summary
