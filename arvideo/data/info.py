"""`arvideo data info PATH`: what a dataset folder (or one shard) holds.

Reads the manifest when there is one and walks the shards with the safe reader, skipping
the frame arrays, to count clips and actions. Works for clip and token shards alike. It also
says whether the set is whole: the manifest's ``complete`` flag, the shards it lists that
are missing, and the members the reader refuses (``.pyd`` and every extension other than
.npy/.json/.txt), which training would stop at. It prints rich tables and returns a
`DatasetInfo`; it changes nothing on disk.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .clips import SPLITS, read_manifest
from .collect_stats import format_stats
from .completeness import missing_shards
from .reader import ShardDataset, expand_shards

SUMMARY_FIELDS = {"actions.npy", "meta.json", "caption.txt"}


@dataclass
class SplitInfo:
    shards: int = 0
    bytes: int = 0
    clips: int = 0
    frames: int = 0
    episodes: int = 0
    skipped: int = 0  # bad samples met while reading
    refused: list[str] = field(default_factory=list)  # members of a refused extension


@dataclass
class DatasetInfo:
    path: str
    source: str | None
    games: list[str]
    size: list[int] | None
    clip_length: int | None
    complete: bool | None
    splits: dict[str, SplitInfo] = field(default_factory=dict)
    missing_shards: list[str] = field(default_factory=list)  # listed in the manifest, absent
    action_meanings: list[str] | None = None
    action_counts: dict[int, int] = field(default_factory=dict)  # action id -> frames
    policy: dict | None = None  # the collector's policy (dataset.json "policy")
    stats: dict | None = None  # what the collector played (dataset.json "stats")

    @property
    def clips(self) -> int:
        return sum(s.clips for s in self.splits.values())

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.splits.values())


def split_shards(path: Path) -> dict[str, list[str]]:
    """Shards per split of a folder (train-*.tar, val-*.tar, other *.tar), or one shard."""
    if path.is_file():
        return {"shard": [str(path)]}
    if not path.is_dir():
        raise FileNotFoundError(f"path={str(path)!r} is neither a dataset folder nor a shard")
    found = {split: expand_shards(str(path / f"{split}-*.tar")) for split in SPLITS}
    known = {p for paths in found.values() for p in paths}
    other = [p for p in expand_shards(str(path / "*.tar")) if p not in known]
    if other:
        found["other"] = other
    return {split: paths for split, paths in found.items() if paths}


def scan_split(shards: list[str], actions: Counter, games: set[str]) -> SplitInfo:
    dataset = ShardDataset(shards, rank=0, world_size=1, keep_fields=SUMMARY_FIELDS)
    info = SplitInfo(shards=len(shards), bytes=sum(Path(p).stat().st_size for p in shards))
    episodes = set()
    for sample in dataset:
        meta = sample.get("meta", {})
        info.clips += 1
        if "actions" in sample:
            actions.update(np.asarray(sample["actions"]).tolist())
            info.frames += len(sample["actions"])
        episodes.add(meta.get("episode"))
        if "game" in meta:
            games.add(meta["game"])
    info.episodes = len(episodes - {None})
    info.skipped = dataset.stats.skipped
    info.refused = list(dataset.stats.refused)
    return info


def data_info(path: str, show: bool = True) -> DatasetInfo:
    """Counts, sizes, games and the action histogram of a dataset folder or shard.

    Args:
        path: a dataset folder (with dataset.json and *.tar shards) or one .tar shard.
        show: print rich tables.
    """
    folder = Path(path)
    manifest = (read_manifest(folder) if folder.is_dir() else None) or {}
    actions, games = Counter(), set()
    shards = split_shards(folder)
    splits = {name: scan_split(paths, actions, games) for name, paths in shards.items()}
    clip_length = manifest.get("clip_length")
    for split in splits.values():  # clips without actions: frames from the manifest
        if split.frames == 0 and clip_length:
            split.frames = split.clips * clip_length
    space = manifest.get("action_space") or {}
    info = DatasetInfo(
        path=str(folder),
        source=manifest.get("source"),
        games=sorted(games) or ([manifest["game"]] if "game" in manifest else []),
        size=manifest.get("size"),
        clip_length=clip_length,
        complete=manifest.get("complete"),
        splits=splits,
        missing_shards=missing_shards(folder, manifest) if folder.is_dir() else [],
        action_meanings=space.get("meanings"),
        action_counts=dict(sorted(actions.items())),
        policy=manifest.get("policy"),
        stats=manifest.get("stats"),
    )
    if show:
        print_info(info)
    return info


def print_info(info: DatasetInfo) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"{info.path}: {info.source or '?'} {', '.join(info.games)} size={info.size} "
    table = Table(title=title + f"clip_length={info.clip_length} complete={info.complete}")
    for column in ("split", "shards", "MB", "clips", "frames", "episodes", "skipped"):
        table.add_column(column, justify="right")
    for name, split in info.splits.items():
        table.add_row(
            name, str(split.shards), f"{split.bytes / 2**20:.1f}", str(split.clips),
            str(split.frames), str(split.episodes), str(split.skipped),
        )  # fmt: skip
    table.add_row("total", "", "", str(info.clips), str(info.frames), "", "")
    console.print(table)
    if info.stats:
        console.print(f"played: {format_stats(info.stats)}", highlight=False)
    if info.policy:
        console.print(f"policy: {info.policy}", highlight=False)
    print_problems(console, info)
    if info.action_counts:
        actions = Table(title="actions (frames per action id)")
        for column in ("id", "meaning", "frames", "share"):
            actions.add_column(column, justify="right")
        total = sum(info.action_counts.values())
        for action, count in info.action_counts.items():
            meanings = info.action_meanings or []
            meaning = meanings[action] if 0 <= action < len(meanings) else "?"
            actions.add_row(str(action), meaning, str(count), f"{count / total:.1%}")
        console.print(actions)


def print_problems(console, info: DatasetInfo) -> None:
    """What makes the set unusable as it is, in red: training refuses each of these."""
    if info.complete is False:
        console.print("[red]incomplete: dataset.json says complete: false[/red]")
    if info.missing_shards:
        console.print(f"[red]listed in dataset.json but missing: {info.missing_shards}[/red]")
    for name, split in info.splits.items():
        if split.refused:
            shown = ", ".join(split.refused[:5]) + (" ..." if len(split.refused) > 5 else "")
            console.print(f"[red]{name}: {len(split.refused)} refused members: {shown}[/red]")
