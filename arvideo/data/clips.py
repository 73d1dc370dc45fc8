"""From episodes to a dataset folder: cut clips, split by episode, write shards + manifest.

Shared by every collector (atari, shapes, video files). It knows episodes (arrays with one
row per frame) and the manifest; it knows nothing about where the frames come from. The
sample format itself is documented in shards.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .manifest import parse_manifest
from .shards import ShardRecord, ShardWriter

MANIFEST_NAME = "dataset.json"
FORMAT_VERSION = "arvideo-clips/1"
SPLITS = ("train", "val")


@dataclass
class Episode:
    """One played episode (or one video file): per-frame arrays of equal length T."""

    index: int  # episode id, unique within the dataset
    frames_THWC: np.ndarray  # uint8
    per_frame: dict[str, np.ndarray] = field(default_factory=dict)  # "actions.npy" -> (T,)
    meta: dict = field(default_factory=dict)  # copied into each clip's meta.json
    caption: str | None = None


def val_episode_ids(num_episodes: int, val_fraction: float) -> set[int]:
    """The last round(n * fraction) episodes (at least one when n >= 2 and fraction > 0)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if val_fraction == 0.0 or num_episodes < 2:
        return set()
    count = min(num_episodes - 1, max(1, round(num_episodes * val_fraction)))
    return set(range(num_episodes - count, num_episodes))


@dataclass
class SplitBudget:
    """Frames one split gets under a frame budget."""

    split: str
    frames: int


def split_frame_budget(frames: int, val_fraction: float) -> list[SplitBudget]:
    """Train gets the first frames - round(frames * val_fraction) frames, val the rest.

    Each split is filled with its own episodes (train's first, then val's), so episodes
    never straddle the split; the episode that reaches a split's budget is cut there.
    """
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    val = round(frames * val_fraction)
    budgets = [SplitBudget("train", frames - val), SplitBudget("val", val)]
    return [budget for budget in budgets if budget.frames > 0]


def clip_starts(num_frames: int, clip_length: int, stride: int) -> range:
    """Start indices of the full clips of an episode of `num_frames` frames."""
    if clip_length < 1 or stride < 1:
        raise ValueError(f"clip_length and stride must be >= 1, got {clip_length}, {stride}")
    return range(0, num_frames - clip_length + 1, stride)


def episode_clips(episode: Episode, clip_length: int, stride: int) -> Iterator[tuple[str, dict]]:
    """(key, sample) for each clip of an episode; sample maps field names to values."""
    total = episode.frames_THWC.shape[0]
    for start in clip_starts(total, clip_length, stride):
        stop = start + clip_length
        sample = {"frames.npy": episode.frames_THWC[start:stop]}
        for name, values in episode.per_frame.items():
            sample[name] = values[start:stop]
        meta = {**episode.meta, "episode": episode.index, "start": start}
        sample["meta.json"] = meta
        if episode.caption is not None:
            sample["caption.txt"] = episode.caption
        yield f"ep{episode.index:06d}-{start:06d}", sample


class DatasetWriter:
    """Writes train/val shards and keeps dataset.json in step with the completed shards.

    Use as a context manager: on an exception (Ctrl-C included) the shards in progress are
    dropped and the manifest lists only complete shards, marked ``"complete": false``.
    """

    def __init__(
        self,
        out: str | Path,
        info: dict,
        val_ids: set[int],
        clip_length: int,
        stride: int,
        shard_size: int,
        splits: tuple[str, ...] = SPLITS,  # a source may add its own (prompt shapes: "unseen")
    ):
        self.out = Path(out)
        self.info = info  # source-specific manifest fields (game, size, action space, seed...)
        self.val_ids = val_ids
        self.clip_length, self.stride = clip_length, stride
        self.complete = False
        self.writers = {
            split: ShardWriter(self.out, split, shard_size, self._on_shard_done) for split in splits
        }
        self.out.mkdir(parents=True, exist_ok=True)
        self._check_empty()

    def _check_empty(self) -> None:
        stale = sorted(p.name for p in self.out.glob("*.tar")) + [
            p.name for p in self.out.glob(MANIFEST_NAME)
        ]
        if stale:
            raise FileExistsError(
                f"out={str(self.out)!r} already holds a dataset ({stale[:3]}...); "
                "choose an empty folder"
            )

    def add_episode(self, episode: Episode, split: str | None = None) -> int:
        """Cut and write one episode into `split` (default: val when its index is one of
        `val_ids`, else train); returns the number of clips written."""
        if split is None:
            split = "val" if episode.index in self.val_ids else "train"
        if split not in self.writers:
            raise ValueError(f"split={split!r} is not one of {tuple(self.writers)}")
        clips = 0
        for key, sample in episode_clips(episode, self.clip_length, self.stride):
            self.writers[split].write(key, sample, episode=episode.index)
            clips += 1
        return clips

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            for writer in self.writers.values():
                writer.close()
            self.complete = True
        else:
            for writer in self.writers.values():
                writer.abort()
        self.write_manifest()

    def _on_shard_done(self, record: ShardRecord) -> None:
        self.write_manifest()

    def manifest(self) -> dict:
        splits = {}
        for split, writer in self.writers.items():
            records = writer.records
            splits[split] = {
                "shards": [asdict(r) for r in records],
                "clips": sum(r.samples for r in records),
                "frames": sum(r.frames for r in records),
                "episodes": sorted({e for r in records for e in r.episodes}),
            }
        return manifest_with_splits(
            FORMAT_VERSION,
            {**self.info, "clip_length": self.clip_length, "stride": self.stride},
            splits,
            self.complete,
        )

    def write_manifest(self) -> None:
        write_manifest(self.out, self.manifest())


def manifest_with_splits(format_name: str, fields: dict, splits: dict, complete: bool) -> dict:
    """A dataset.json: the format, `fields`, per-split counts and their totals."""
    return {
        "format": format_name,
        **fields,
        "clips": sum(split["clips"] for split in splits.values()),
        "frames": sum(split["frames"] for split in splits.values()),
        "splits": splits,
        "complete": complete,
    }


def write_manifest(folder: str | Path, manifest: dict) -> None:
    """Atomic rewrite of FOLDER/dataset.json (temp file + rename): a reader never sees half."""
    path = Path(folder) / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def read_manifest(folder: str | Path) -> dict | None:
    """dataset.json of a dataset folder, checked (manifest.py: a bad one raises
    ManifestError naming file and field), or None when there is none."""
    path = Path(folder) / MANIFEST_NAME
    return parse_manifest(path) if path.is_file() else None


def progress_bar(enabled: bool, description: str, total: int | None):
    """A rich progress bar (a no-op stand-in when disabled) and its task id."""
    from rich.progress import Progress

    bar = Progress(disable=not enabled, transient=False)
    task = bar.add_task(description, total=total)
    return bar, task


@dataclass
class CollectSummary:
    """What a collector wrote (the manifest holds the details)."""

    out: str
    clips: int
    frames: int
    shards: int
    complete: bool
    stats: dict | None = None  # what the collector played (collect_stats.GameStats.record)


def summarize(writer: DatasetWriter) -> CollectSummary:
    manifest = writer.manifest()
    shards = sum(len(s["shards"]) for s in manifest["splits"].values())
    return CollectSummary(
        str(writer.out), manifest["clips"], manifest["frames"], shards, manifest["complete"]
    )
