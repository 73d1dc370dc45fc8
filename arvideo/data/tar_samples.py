"""Bounded tar reading: opened shards -> raw samples (dicts of member bytes), within limits.

webdataset's tar iteration opens every stream with ``tarfile.open(mode="r|*")`` and reads
each member whole: a 2 MB gzip shard can decompress into gigabytes of one member. This
module replaces that stage (and the grouping by key after it) for the safe reader:

* a compressed shard (gzip, bzip2, xz, zstd magic bytes) is refused unless
  `ShardLimits.allow_compressed`; a refusal is a `ShardLimitError` naming the shard;
* a member larger than `ShardLimits.max_member_bytes` is skipped without being read, and
  its whole sample is dropped (a sample without one of its fields could pass validation);
* tar's own long-name and pax headers are read by tarfile before we see the member: they
  are capped at `MAX_TAR_HEADER_BYTES` in a TarInfo subclass;
* links, directories, devices, names with a folder or no extension drop their sample;
* a tar header damaged mid-shard, or a shard cut at a member boundary, makes tarfile stop
  as if the archive ended: a missing end-of-archive marker or any non-zero byte after the
  last member read is reported, so the lost rest of the shard is counted.

Every problem goes to the reader's error handler (warn + count + go on, or raise). It knows
tar files and member names; decoding and sample checks live in reader.py / shards.py.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from webdataset.tariterators import base_plus_ext

MIB = 2**20
MAX_TAR_HEADER_BYTES = MIB  # long names / pax records: real ones are a few hundred bytes
EXTENDED_HEADERS = (  # header blocks whose data tarfile reads whole, before the member
    tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
)  # fmt: skip
COMPRESSION_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}


@dataclass
class ShardLimits:
    """What the reader accepts from a shard (defaults fit clip and token shards)."""

    max_member_bytes: int = 256 * MIB  # one .npy / .json / .txt member, as stored
    allow_compressed: bool = False  # compressed tars can expand far beyond their size

    def __post_init__(self):
        if isinstance(self.max_member_bytes, bool) or not isinstance(self.max_member_bytes, int):
            raise TypeError(f"max_member_bytes must be an int, got {self.max_member_bytes!r}")
        if self.max_member_bytes < 1:
            raise ValueError(f"max_member_bytes must be >= 1, got {self.max_member_bytes}")


class ShardReadError(ValueError):
    """A shard or sample that cannot be read (named, counted, skipped)."""


class ShardLimitError(ShardReadError):
    """A shard or member the limits refuse (named, counted, skipped)."""


class BoundedTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses oversized long-name / pax headers before tarfile reads them."""

    def _proc_member(self, tarfile_):
        if self.type in EXTENDED_HEADERS and self.size > MAX_TAR_HEADER_BYTES:
            raise ShardLimitError(
                f"tar header of {self.size} bytes > {MAX_TAR_HEADER_BYTES} (long name / pax)"
            )
        return super()._proc_member(tarfile_)


def compression_of(stream: BinaryIO) -> str | None:
    """The compression named by the stream's first bytes (None: plain tar); rewinds."""
    head = stream.read(6)
    stream.seek(0)
    return next((name for magic, name in COMPRESSION_MAGIC.items() if head.startswith(magic)), None)


def tar_samples(
    shards: Iterator[dict],
    limits: ShardLimits,
    handler: Callable[[Exception], bool],
    select: Callable[[str], bool] | None = None,
) -> Iterator[dict]:
    """Samples ``{"__key__", "__url__", "<field>.<ext>": bytes}`` of each shard in order.

    `shards` yields dict(url, stream) (reader.open_local_shards); `select(member_name)`
    keeps a member (None: all). `handler(error)` is called once per dropped sample or shard error.
    """
    for shard in shards:
        url = shard["url"]
        try:
            yield from _shard_samples(url, shard["stream"], limits, handler, select)
        except Exception as error:  # tarfile, zlib, lzma... raise many types
            if isinstance(error, ShardReadError) and repr(url) in str(error):
                handler(error)
                continue
            named = ShardReadError(f"shard {url!r}: {type(error).__name__}: {error}")
            named.__cause__ = error
            handler(named)


def _shard_samples(url, stream, limits, handler, select) -> Iterator[dict]:
    compression = compression_of(stream)
    if compression is not None and not limits.allow_compressed:
        raise ShardLimitError(
            f"shard {url!r} is {compression}-compressed; refused (its members can expand "
            "without bound): pass allow_compressed=True to read it"
        )
    tar = tarfile.open(fileobj=stream, mode="r|*", tarinfo=BoundedTarInfo)
    grouper = _Grouper(url, handler)
    for member in tar:
        problem = _member_problem(member, limits)
        key, suffix = _split_name(member.name)
        if problem is None and key is None:
            problem = "name is not <key>.<field>.<ext> without folders"
        if problem is not None:
            grouper.refuse(key or member.name, f"member {member.name!r} {problem}")
        elif select is None or select(member.name):
            grouper.add(key, suffix, tar.extractfile(member).read())
        tar.members = []  # stream mode keeps every TarInfo otherwise
        yield from grouper.drain()  # at most one finished sample held at a time
    yield from grouper.drain(final=True)
    if compression is None:
        _check_tail(url, stream, tar.offset)


class _Grouper:
    """Consecutive members with one key form a sample; a refused member drops its sample."""

    def __init__(self, url: str, handler: Callable[[Exception], bool]):
        self.url, self.handler = url, handler
        self.sample: dict | None = None
        self.refused: str | None = None  # why the current sample is dropped
        self.ready: list[dict] = []

    def add(self, key: str, suffix: str, data: bytes) -> None:
        self._start(key)
        if suffix in self.sample:
            self.refused = self.refused or f"member {key}.{suffix} appears twice"
        self.sample[suffix] = data

    def refuse(self, key: str, reason: str) -> None:
        self._start(key)
        self.refused = self.refused or reason

    def _start(self, key: str) -> None:
        if self.sample is not None and self.sample["__key__"] == key:
            return
        self._close()
        self.sample, self.refused = {"__key__": key, "__url__": self.url}, None

    def _close(self) -> None:
        if self.sample is None:
            return
        if self.refused is not None:
            key = self.sample["__key__"]
            self.handler(ShardLimitError(f"shard {self.url!r}, sample {key!r}: {self.refused}"))
        elif len(self.sample) > 2:  # more than __key__ and __url__
            self.ready.append(self.sample)
        self.sample = None

    def drain(self, final: bool = False) -> Iterator[dict]:
        if final:
            self._close()
        ready, self.ready = self.ready, []
        yield from ready


def _member_problem(member: tarfile.TarInfo, limits: ShardLimits) -> str | None:
    if not member.isreg():
        return "is not a regular file (link, folder or device)"
    if member.size > limits.max_member_bytes:
        return (
            f"holds {member.size} bytes > max_member_bytes={limits.max_member_bytes}; "
            "raise ShardLimits.max_member_bytes to read it"
        )
    return None


def _split_name(name: str) -> tuple[str | None, str]:
    """``ep1-000.frames.npy`` -> (``ep1-000``, ``frames.npy``); (None, "") if malformed."""
    if "/" in name or "\\" in name:
        return None, ""
    key, suffix = base_plus_ext(name)
    return (key, suffix.lower()) if key else (None, "")


def _check_tail(url: str, stream: BinaryIO, offset: int, chunk: int = MIB) -> None:
    """After the last member: the end-of-archive marker (two zero blocks) and only zeros.

    tarfile ends quietly on a damaged or missing header, so a shard cut at a member
    boundary or with a flipped header byte would lose its rest without a word."""
    stream.seek(offset)
    position, zeros = offset, 0
    while block := stream.read(chunk):
        if block.strip(b"\0"):
            raise ShardReadError(
                f"shard {url!r}: unreadable tar header near byte {position}; the rest of "
                "the shard is lost"
            )
        position, zeros = position + len(block), zeros + len(block)
    if zeros < 2 * tarfile.BLOCKSIZE:
        raise ShardReadError(
            f"shard {url!r} ends at byte {position} without tar's end-of-archive marker: "
            "truncated, samples after it are lost"
        )
