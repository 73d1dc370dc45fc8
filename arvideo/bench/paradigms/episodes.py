"""Episodes for the paradigm benchmark: clip shards -> whole episodes -> training and
evaluation windows, all in memory.

Clips of one episode (meta `episode`, `start`) are stitched back together in order, so the
windows are not limited by the data set's clip length: a 4 + 12 frame rollout can be cut
from shards of 8-frame clips. Training windows come from the train split, evaluation windows
from the val split (held-out episodes). Knows the shard reader and clip meta; knows nothing
about models or metrics.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from arvideo.data.clips import read_manifest
from arvideo.data.reader import ShardDataset, expand_shards


@dataclass
class EpisodeSet:
    """Frames and actions of whole episodes of one split."""

    frames: list[np.ndarray]  # per episode T×H×W×3 uint8
    actions: list[np.ndarray]  # per episode T int64 (the action taken AT frame t)
    episode_ids: list[int]


@dataclass
class Windows:
    """Fixed-length windows cut from episodes."""

    video_BCTHW: torch.Tensor  # float32 in [-1, 1]
    actions_BT: torch.Tensor  # int64

    def __len__(self) -> int:
        return self.video_BCTHW.shape[0]


@dataclass
class GameInfo:
    game: str | None
    num_actions: int
    action_meanings: list[str] | None


def game_info(data: str | Path) -> GameInfo:
    manifest = read_manifest(data) or {}
    space = manifest.get("action_space") or {}
    return GameInfo(manifest.get("game"), int(space.get("n", 0)), space.get("meanings"))


def load_episodes(data: str | Path, split: str) -> EpisodeSet:
    """Stitch the clips of `split` back into episodes (clips must tile them without gaps)."""
    shards = expand_shards(str(Path(data) / f"{split}-*.tar"))
    if not shards:
        raise ValueError(f"data={str(data)!r} has no {split}-*.tar shards")
    pieces: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}
    for clip in ShardDataset(shards, rank=0, world_size=1, shuffle_buffer=0):
        meta = clip.get("meta", {})
        if "actions" not in clip or "episode" not in meta:
            raise ValueError(f"data={str(data)!r}: clips need actions and meta.episode")
        pieces.setdefault(int(meta["episode"]), []).append(
            (int(meta.get("start", 0)), clip["frames"], clip["actions"])
        )
    frames, actions = [], []
    for episode in sorted(pieces):
        ep_frames, ep_actions = _stitch(sorted(pieces[episode], key=lambda p: p[0]))
        frames.append(ep_frames)
        actions.append(ep_actions)
    return EpisodeSet(frames, actions, sorted(pieces))


def _stitch(pieces: list[tuple[int, np.ndarray, np.ndarray]]):
    """Concatenate clips by start; overlapping clips (stride < length) are trimmed; the
    first gap ends the episode (later pieces are dropped)."""
    frames, actions, end = [], [], pieces[0][0]
    for start, clip_frames, clip_actions in pieces:
        if start > end:
            break
        skip = end - start
        frames.append(clip_frames[skip:])
        actions.append(np.asarray(clip_actions)[skip:])
        end = start + len(clip_frames)
    return np.concatenate(frames), np.concatenate(actions).astype(np.int64)


def _to_video(frames_BTHWC: np.ndarray) -> torch.Tensor:
    video = torch.from_numpy(np.ascontiguousarray(frames_BTHWC)).permute(0, 4, 1, 2, 3)
    return video.float() / 127.5 - 1.0


def window_starts(
    episodes: EpisodeSet, length: int, stride: int | None = None
) -> list[tuple[int, int]]:
    """(episode, first frame) of every window of `length` frames at `stride` (None = length:
    non-overlapping), in order."""
    return [
        (e, s)
        for e, frames in enumerate(episodes.frames)
        for s in range(0, len(frames) - length + 1, stride or length)
    ]


def _gather(episodes: EpisodeSet, starts: list[tuple[int, int]], length: int) -> Windows:
    frames = np.stack([episodes.frames[e][s : s + length] for e, s in starts])
    actions = np.stack([episodes.actions[e][s : s + length] for e, s in starts])
    return Windows(_to_video(frames), torch.from_numpy(actions))


def evenly_spaced_indices(candidates: int, count: int) -> np.ndarray:
    """Indices of `count` picks (fewer if there are fewer) spread evenly over `candidates`,
    first and last included (deterministic): the ones `evaluation_windows` scores."""
    return np.linspace(0, candidates - 1, min(count, candidates)).round().astype(int)


def evaluation_windows(episodes: EpisodeSet, length: int, count: int) -> Windows:
    """`count` windows of `length` frames, spread evenly over the episodes (deterministic);
    fewer, with a warning, when the episodes hold fewer non-overlapping ones."""
    starts = window_starts(episodes, length)
    if not starts:
        raise ValueError(f"no val episode holds {length} frames (context + horizon)")
    if len(starts) < count:
        warnings.warn(
            f"{count} windows of {length} frames asked for; the episodes hold only "
            f"{len(starts)}: scoring {len(starts)}",
            RuntimeWarning,
            stacklevel=2,
        )
    picks = evenly_spaced_indices(len(starts), count)
    return _gather(episodes, [starts[i] for i in picks], length)


def training_windows(
    episodes: EpisodeSet, length: int, stride: int, count: int | None = None
) -> Windows:
    """Every window of `length` frames at `stride` in the given episodes, or `count` of them
    evenly spaced (first and last kept; chosen before the frames are copied, so a large
    data set costs memory only for the windows kept)."""
    starts = window_starts(episodes, length, stride)
    if not starts:
        raise ValueError(f"no episode holds {length} frames (the window length)")
    if count is not None:
        starts = [starts[i] for i in evenly_spaced_indices(len(starts), count)]
    return _gather(episodes, starts, length)


def sample_batch(windows: Windows, batch_size: int, generator: torch.Generator) -> Windows:
    index = torch.randint(len(windows), (batch_size,), generator=generator)
    return Windows(windows.video_BCTHW[index], windows.actions_BT[index])


def evenly_spaced(windows: Windows, count: int) -> Windows:
    """At most `count` of the windows, evenly spaced (first and last kept; deterministic)."""
    index = torch.from_numpy(evenly_spaced_indices(len(windows), count))
    return Windows(windows.video_BCTHW[index], windows.actions_BT[index])
