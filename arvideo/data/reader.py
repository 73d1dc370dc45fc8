"""The safe shard reader: tar shards -> decoded sample dicts (clip or token shards alike).

Built from webdataset's tar iteration, grouping and decoding stages, with our own pieces
where safety needs them:

* shards are opened with plain ``open()``: webdataset's ``gopen`` refuses local files when
  ``WDS_SECURE=1`` (webdataset 1.0.2 also refuses ``pipe:`` URLs and ``GOPEN_REWRITE``
  there, and its pickle/torch decoders raise); we never call gopen, so the reader works the
  same with or without it.
* decoding uses only `shards.decode_field` (``pre=[]``, ``post=[]``: no default decoders);
  a member with another extension (``.pyd``, ``.pth``, ...) raises `UnsafeSampleError`
  naming shard and key: that is a refused dataset, never a skipped sample.
* a truncated or corrupt shard, an undecodable member, or a sample that fails `validate`
  is skipped with a warning and counted in `ReadStats`; the epoch goes on.
* tar members are read by tar_samples.py within `ShardLimits`: members above 256 MiB and
  compressed shards are refused (named, counted, skipped) unless the limits allow them.

Splitting: shards are split by node (rank / world size, injectable for tests) then by
DataLoader worker (webdataset `split_by_worker`). With fewer shards than readers, every
reader walks all shards and keeps every n-th sample instead, so readers stay disjoint.
It knows nothing about batches or models (datamodule.py collates).
"""

from __future__ import annotations

import glob
import random
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import braceexpand
import torch
import webdataset as wds

from .shards import SAFE_EXTENSIONS, UnsafeSampleError, decode_field, field_extension
from .tar_samples import ShardLimits, tar_samples


@dataclass
class ReadStats:
    """Counters of one reading process (each DataLoader worker keeps its own copy)."""

    samples: int = 0  # samples yielded
    skipped: int = 0  # bad samples or shard errors skipped with a warning
    # members of a refused extension (.pyd, ...) left unread because `keep_fields` skips
    # them; without keep_fields they raise UnsafeSampleError instead
    refused: list[str] = field(default_factory=list)


class SkipBadData:
    """webdataset error handler: re-raise refusals, warn + count + continue otherwise."""

    def __init__(self, stats: ReadStats):
        self.stats = stats

    def __call__(self, error: Exception) -> bool:
        cause = error.__cause__ if error.__cause__ is not None else error
        if isinstance(error, UnsafeSampleError) or isinstance(cause, UnsafeSampleError):
            raise cause
        self.stats.skipped += 1
        warnings.warn(f"skipping bad shard data: {describe(error)}", RuntimeWarning, stacklevel=2)
        return True


def describe(error: Exception) -> str:
    """One line naming shard, sample and member where the error knows them (webdataset's
    DecodingError carries them as attributes and prints as an empty string)."""
    if isinstance(error, wds.autodecode.DecodingError):
        cause = error.__cause__ or error.__context__
        return (
            f"shard {error.url!r}, sample {error.key!r}, member {error.k!r}: "
            f"{type(cause).__name__}: {cause}"
        )
    return repr(error)


def refuse_unsafe(samples: Iterator[dict]) -> Iterator[dict]:
    """Raise on any member whose extension is not .npy/.json/.txt, naming shard and key."""
    for sample in samples:
        for name in sample:
            if not name.startswith("__") and field_extension(name) not in SAFE_EXTENSIONS:
                raise UnsafeSampleError(
                    f"shard {sample.get('__url__')!r}, sample {sample.get('__key__')!r}: "
                    f"member {name!r} is not one of {SAFE_EXTENSIONS}; refusing to decode it"
                )
        yield sample


def open_local_shards(urls: Iterator[str], handler: SkipBadData) -> Iterator[dict]:
    """dict(url, stream) per shard, opened with open() (never webdataset's gopen)."""
    for url in urls:
        try:
            stream = open(url, "rb")  # noqa: SIM115 - closed after its tar is read
        except OSError as error:
            handler(error)
            continue
        try:
            yield {"url": url, "stream": stream}
        finally:
            stream.close()


def strip_extensions(sample: dict) -> dict:
    """``frames.npy`` -> ``frames``; webdataset's ``__key__`` / ``__url__`` are kept."""
    return {
        name if name.startswith("__") else name.rsplit(".", 1)[0]: value
        for name, value in sample.items()
    }


def node_and_worker() -> tuple[int, int]:
    """(worker id, number of workers) of the current DataLoader process."""
    info = torch.utils.data.get_worker_info()
    return (0, 1) if info is None else (info.id, info.num_workers)


class ShardDataset(torch.utils.data.IterableDataset):
    """Iterates decoded samples (dicts keyed by field name without extension).

    rank / world_size default to torch.distributed (via webdataset) when None.
    validate(sample) returns an error message (skip) or None (keep); transform(sample,
    generator) runs after it with a torch.Generator seeded per seed, epoch and reader.
    limits: member size cap and compressed shards (None: `ShardLimits()`'s defaults).
    """

    def __init__(
        self,
        shards: list[str],
        rank: int | None = None,
        world_size: int | None = None,
        shuffle_buffer: int = 0,
        seed: int = 0,
        validate: Callable[[dict], str | None] | None = None,
        keep_fields: set[str] | None = None,
        transform: Callable[[dict, torch.Generator], dict] | None = None,
        limits: ShardLimits | None = None,
    ):
        if not shards:
            raise ValueError("shards is empty: no .tar files to read")
        self.shards = [str(s) for s in shards]
        self.rank, self.world_size = rank, world_size
        self.shuffle_buffer, self.seed = shuffle_buffer, seed
        self.validate = validate
        self.keep_fields = keep_fields  # e.g. {"actions.npy", "meta.json"}: skip the frames
        self.transform = transform
        self.limits = limits or ShardLimits()
        self.epoch = 0
        self.stats = ReadStats()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _readers(self) -> tuple[int, int]:
        """(this reader's index, number of readers) over nodes × workers."""
        if self.rank is None or self.world_size is None:
            rank, world, _, _ = wds.utils.pytorch_worker_info()
        else:
            rank, world = self.rank, self.world_size
        if not 0 <= rank < world:
            raise ValueError(f"rank={rank} must be in [0, world_size={world})")
        worker, workers = node_and_worker()
        return rank * workers + worker, world * workers

    def _shard_order(self) -> list[str]:
        shards = list(self.shards)
        if self.shuffle_buffer > 0:  # the same order on every rank, a new one every epoch
            random.Random(self.seed * 100_003 + self.epoch).shuffle(shards)
        return shards

    def __iter__(self) -> Iterator[dict]:
        reader, readers = self._readers()
        shards = self._shard_order()
        split_samples = len(shards) < readers
        if not split_samples:
            shards = shards[reader::readers]
        handler = SkipBadData(self.stats)
        select = None if self.keep_fields is None else self._select
        opened = open_local_shards(iter(shards), handler)
        samples = refuse_unsafe(tar_samples(opened, self.limits, handler, select))
        if split_samples:
            samples = islice(samples, reader, None, readers)
        decoded = wds.filters._decode(samples, decode_field, pre=[], post=[], handler=handler)
        generator = torch.Generator().manual_seed(self._reader_seed(reader))
        checked = self._checked(decoded, handler, generator)
        if self.shuffle_buffer > 0:
            rng = random.Random(self._reader_seed(reader))
            checked = wds.filters._shuffle(checked, self.shuffle_buffer, 1, rng=rng)
        yield from checked

    def _reader_seed(self, reader: int) -> int:
        return self.seed * 1_000_003 + self.epoch * 1009 + reader

    def _select(self, fname: str) -> bool:
        if field_extension(fname) not in SAFE_EXTENSIONS:
            self.stats.refused.append(fname)
        return fname.split(".", 1)[-1].lower() in self.keep_fields

    def _checked(
        self, decoded: Iterator[dict], handler: SkipBadData, generator: torch.Generator
    ) -> Iterator[dict]:
        for sample in decoded:
            sample = strip_extensions(sample)
            problem = None if self.validate is None else self.validate(sample)
            if problem is not None:
                handler(ValueError(f"{sample.get('__url__')} {sample.get('__key__')}: {problem}"))
                continue
            self.stats.samples += 1
            yield sample if self.transform is None else self.transform(sample, generator)


def expand_shards(spec: str | list[str]) -> list[str]:
    """Shard paths from a glob (``data/pong/train-*.tar``), a brace pattern, or a list."""
    if isinstance(spec, list):
        return [path for item in spec for path in expand_shards(item)]
    paths = []
    for pattern in braceexpand.braceexpand(spec):
        paths.extend(sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern])
    return paths
