"""The clip sample schema, and the safe shard writer (the reader lives in reader.py).

This module is the ONE place where the on-disk format is documented. It knows tar files,
sample keys and byte encodings; it knows nothing about Atari, tokenizers or batches.

Layout of a dataset folder::

    OUT/dataset.json           manifest, rewritten after every completed shard
    OUT/train-000000.tar       webdataset shards, at most `shard_size` samples each
    OUT/val-000000.tar         (episodes go to train or val whole, never split)

A sample is a group of tar members sharing one key (``<key>.<field>.<ext>``). Keys are
unique across the whole dataset (``ep000003-000048``: episode, start frame). Only three
extensions exist; anything else (``.pyd``, ``.pth``, ``.pickle``, ...) is refused on read:

========== ============ ==============================================================
field      extension    content
========== ============ ==============================================================
frames     .npy         uint8 T×H×W×3, RGB (clip shards)
actions    .npy         int64 T, the action taken *at* frame t (it leads to frame t+1);
                        the last frame of an episode has no action and stores 0
rewards    .npy         float32 T, reward received on the step from frame t to t+1
dones      .npy         bool T, frame t is the last frame because the game ended
truncated  .npy         bool T, frame t is the last frame because of a step cap or the
                        collector's frame budget
ram        .npy         uint8 T×128, the Atari console's RAM after frame t was played
                        (clip shards of ale-py games; ground truth, e.g. Pong positions)
meta       .json        dict: source, game, episode, start, action_meanings, fps, ...
caption    .txt         UTF-8 text, one caption per clip (shapes)
codes      .npy         int16/int32 T×H×W (or T×L, T×H×W×D) tokens (token shards)
latents    .npy         float16 T×H×W×C continuous tokens (token shards)
========== ============ ==============================================================

Token shards (written by ``arvideo encode``) use the same schema with ``codes`` or
``latents`` instead of ``frames``; their ``meta.json`` may carry an int ``label``. Their
per-frame fields (actions, rewards, dones, truncated, ram) have one row per *latent* frame
(the rule: encode.py for actions, ground_truth.py for the rest).
``.npy`` is always loaded with ``allow_pickle=False``; JSON and text are decoded as UTF-8.

Writing is atomic per shard: a shard is written to ``NAME.tar.tmp`` and renamed when it is
complete, so an interrupted collection leaves only complete shards. Tar headers carry no
time stamps or user names, so the same samples give the same bytes.
"""

from __future__ import annotations

import io
import json
import math
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SAFE_EXTENSIONS = ("npy", "json", "txt")
NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


class UnsafeSampleError(ValueError):
    """A shard holds a member whose extension we refuse to decode (it could unpickle)."""


@dataclass
class ShardRecord:
    """One completed shard, as listed in the manifest."""

    name: str  # file name relative to the dataset folder
    samples: int
    frames: int  # sum of clip lengths
    episodes: list[int] = field(default_factory=list)


def field_extension(field_name: str) -> str:
    """The extension of a sample field name such as ``frames.npy`` (``npy``)."""
    return field_name.rsplit(".", 1)[-1].lower()


def encode_field(field_name: str, value) -> bytes:
    """Bytes of one sample field; the extension of `field_name` picks the encoding."""
    extension = field_extension(field_name)
    if extension == "npy":
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(value), allow_pickle=False)
        return buffer.getvalue()
    if extension == "json":
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")
    if extension == "txt":
        return str(value).encode("utf-8")
    raise UnsafeSampleError(
        f"field {field_name!r}: extension {extension!r} is not one of {SAFE_EXTENSIONS}"
    )


def decode_field(field_name: str, data: bytes):
    """Decode one field without ever unpickling; refuses unknown extensions.

    Usable as a webdataset decode handler (it accepts ``.frames.npy`` style keys).
    """
    extension = field_extension(field_name)
    if extension == "npy":
        stream = io.BytesIO(data)
        check_npy_size(field_name, stream)
        return np.load(stream, allow_pickle=False)
    if extension == "json":
        return json.loads(data.decode("utf-8"))
    if extension == "txt":
        return data.decode("utf-8")
    raise UnsafeSampleError(
        f"field {field_name!r}: extension {extension!r} is not one of {SAFE_EXTENSIONS}"
    )


def check_npy_size(field_name: str, stream: io.BytesIO) -> None:
    """Refuse a .npy whose header promises more (or fewer) bytes than it holds: np.load
    allocates the whole promised array before reading a memory buffer. Rewinds `stream`."""
    version = np.lib.format.read_magic(stream)
    read_header = NPY_HEADER_READERS.get(version)
    if read_header is None:  # 3.0 only serves non-Latin-1 field names, which we never write
        raise ValueError(f"field {field_name!r}: .npy format {version} is not read")
    shape, _, dtype = read_header(stream)  # numpy caps the header at 10,000 bytes
    if dtype.hasobject:
        raise ValueError(f"field {field_name!r}: object arrays need pickle; refused")
    promised = math.prod(shape) * dtype.itemsize
    held = len(stream.getbuffer()) - stream.tell()
    if promised != held:
        raise ValueError(
            f"field {field_name!r}: header says {shape} {dtype} ({promised} bytes), "
            f"the member holds {held}"
        )
    stream.seek(0)


def sample_frames(sample: dict) -> int:
    """Number of frames of an undecoded-or-decoded sample dict (0 when unknown)."""
    for name in ("frames.npy", "codes.npy", "latents.npy", "actions.npy"):
        if name in sample:
            return int(np.asarray(sample[name]).shape[0])
    return 0


class ShardWriter:
    """Writes samples into ``PREFIX-000000.tar``, ``PREFIX-000001.tar``, ... atomically.

    `on_shard_done(record)` is called after each shard has been renamed into place (the
    collector rewrites the manifest there). `abort()` discards the shard in progress.
    """

    def __init__(
        self,
        folder: str | Path,
        prefix: str,
        shard_size: int,
        on_shard_done: Callable[[ShardRecord], None] | None = None,
    ):
        if shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, got {shard_size}")
        self.folder = Path(folder)
        self.prefix = prefix
        self.shard_size = shard_size
        self.on_shard_done = on_shard_done
        self.records: list[ShardRecord] = []
        self._tar: tarfile.TarFile | None = None
        self._current: ShardRecord | None = None

    def write(self, key: str, sample: dict, episode: int | None = None) -> None:
        """Add one sample: `sample` maps field names (``frames.npy``) to values."""
        if "." in key or "/" in key:
            raise ValueError(f"sample key {key!r} must not contain '.' or '/'")
        if self._tar is None:
            self._open()
        for field_name in sorted(sample):
            self._add_member(f"{key}.{field_name}", encode_field(field_name, sample[field_name]))
        self._current.samples += 1
        self._current.frames += sample_frames(sample)
        if episode is not None and episode not in self._current.episodes:
            self._current.episodes.append(episode)
        if self._current.samples >= self.shard_size:
            self._finish()

    def close(self) -> None:
        """Finish the shard in progress (if it holds any sample)."""
        if self._tar is not None:
            self._finish()

    def abort(self) -> None:
        """Drop the shard in progress; completed shards stay."""
        if self._tar is not None:
            self._tar.close()
            self._tmp_path().unlink(missing_ok=True)
            self._tar, self._current = None, None

    def _shard_path(self) -> Path:
        return self.folder / f"{self.prefix}-{len(self.records):06d}.tar"

    def _tmp_path(self) -> Path:
        return self._shard_path().with_suffix(".tar.tmp")

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._tar = tarfile.open(self._tmp_path(), "w", format=tarfile.USTAR_FORMAT)
        self._current = ShardRecord(name=self._shard_path().name, samples=0, frames=0)

    def _add_member(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        self._tar.addfile(info, io.BytesIO(data))

    def _finish(self) -> None:
        self._tar.close()
        os.replace(self._tmp_path(), self._shard_path())
        record, self._tar, self._current = self._current, None, None
        self.records.append(record)
        if self.on_shard_done is not None:
            self.on_shard_done(record)
