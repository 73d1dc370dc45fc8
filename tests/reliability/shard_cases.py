"""Bad shards made on purpose: small real shards, then truncated, flipped, renamed, bombed.

`make_case(kind, rng)` builds one `ShardCase` (the bytes of a shard and what a correct reader
must do with it); `run_case(case, folder)` reads it with the safe reader and the data
modules' sample checks (what training and `arvideo encode` read through) and returns an
`Outcome`. Used by test_fuzz_reader.py and by benchmarks/reliability.py (the table).

Two kinds of damage: "sample" kinds break exactly one sample, so exactly the others must come
back and that one be counted; "shard" kinds break the tar itself, so whatever comes back must
be intact and the loss counted at least once. "random" shards are random members of random
names and bytes: no crash, every sample returned passes the checks.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import random
import tarfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from arvideo.data.datamodule import TokenDataModule, VideoDataModule
from arvideo.data.shards import UnsafeSampleError, encode_field
from arvideo.data.tar_samples import ShardLimits

LIMITS = ShardLimits(max_member_bytes=64 * 1024)  # small, so oversize members are cheap
SAMPLES = 4  # per shard


@dataclass
class ShardCase:
    kind: str
    scope: str  # "sample": one sample broken; "shard": the tar broken; "random"
    data: bytes
    base: str  # "clips" or "tokens": which data module checks it
    originals: dict[str, dict[str, bytes]]  # key -> member suffix -> bytes, as written
    broken_key: str | None = None  # the sample a "sample" kind breaks (None: a stray member)


@dataclass
class Outcome:
    kind: str
    scope: str
    yielded: int
    skipped: int
    named: bool  # every refusal message names the shard file
    refused_dataset: bool  # an UnsafeSampleError stopped the read (naming shard and key)
    crash: str | None  # any other exception
    problems: list[str] = field(default_factory=list)  # broken promises, empty when fine

    @property
    def refused(self) -> bool:
        return self.crash is None and (self.skipped > 0 or self.refused_dataset)


# -- base shards ------------------------------------------------------------------------------


def base_members(base: str, rng: random.Random) -> list[tuple[str, bytes]]:
    """Members of SAMPLES good samples, in the writer's order (sorted fields per key)."""
    members = []
    for index in range(SAMPLES):
        key = f"ep{rng.randrange(1000):06d}-{index:06d}"
        T = rng.randint(2, 4)
        if base == "clips":
            tokens = ("frames.npy", np.full((T, 8, 8, 3), rng.randrange(256), np.uint8))
        else:
            tokens = ("codes.npy", np.full((T, 2, 2), rng.randrange(64), np.int16))
        fields = dict([tokens])
        fields["actions.npy"] = np.arange(T, dtype=np.int64) % 6
        fields["meta.json"] = {"episode": index, "start": 0}
        fields["caption.txt"] = f"clip {index}"
        members += [(f"{key}.{name}", encode_field(name, fields[name])) for name in sorted(fields)]
    return members


def pack(members: list[tuple[str, bytes] | tarfile.TarInfo]) -> bytes:
    """A plain tar of (name, bytes) members; a TarInfo is added as it is (links...)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
                continue
            name, data = member
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def originals(members: list[tuple[str, bytes]]) -> dict[str, dict[str, bytes]]:
    grouped: dict[str, dict[str, bytes]] = {}
    for name, data in members:
        key, suffix = name.split(".", 1)
        grouped.setdefault(key, {})[suffix] = data
    return grouped


def time_field(base: str) -> str:
    return "frames.npy" if base == "clips" else "codes.npy"


# -- one sample broken ------------------------------------------------------------------------


def npy_bytes(header: dict, payload: bytes, version=(1, 0)) -> bytes:
    buffer = io.BytesIO()
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(buffer, header)  # magic included
    else:  # 2.0: a 4-byte header length, here padded far past numpy's 10 kB cap
        text = repr(header).encode("latin1") + b" " * 60_000 + b"\n"
        buffer.write(np.lib.format.magic(*version) + len(text).to_bytes(4, "little") + text)
    return buffer.getvalue() + payload


def replace_member(members, name, data):
    return [(n, data if n == name else d) for n, d in members]


def insert_after(members, key, extra):
    index = max(i for i, (n, _) in enumerate(members) if n.startswith(key + "."))
    return members[: index + 1] + extra + members[index + 1 :]


def sample_mutations(base: str) -> dict:
    """kind -> f(members, key, rng) -> members in which sample `key` is broken."""
    tf = time_field(base)
    flat = "|u1"

    def npy(header, payload=b"\0" * 16, version=(1, 0)):
        return lambda m, k, r: replace_member(m, f"{k}.{tf}", npy_bytes(header, payload, version))

    def member(suffix, make):
        return lambda m, k, r: replace_member(m, f"{k}.{suffix}", make(r))

    def array(value):
        return member(tf, lambda r: encode_field("x.npy", value))

    def rename(members, key, rng):
        new = rng.choice(["framez.npy", "tokens.npy", "frames.json"])
        return [(f"{key}.{new}" if n == f"{key}.{tf}" else n, d) for n, d in members]

    float_tokens = np.zeros((2, 8, 8, 3) if base == "clips" else (2, 2, 2), np.float32)
    return {
        "npy header bomb (shape 10^12)": npy({"descr": flat, "fortran_order": False,
                                              "shape": (10**12,)}),
        "npy header over 10 kB": npy({"descr": flat, "fortran_order": False, "shape": (16,)},
                                     version=(2, 0)),
        "npy object dtype": npy({"descr": "|O", "fortran_order": False, "shape": (2,)}),
        "npy payload garbage": member(tf, lambda r: r.randbytes(r.randint(1, 300))),
        "wrong field name": rename,
        "wrong dtype": array(float_tokens),
        "wrong rank": array(np.zeros((5,), np.uint8)),
        "actions length": member("actions.npy", lambda r: encode_field("a.npy", np.zeros(9))),
        "meta.json not JSON": member("meta.json", lambda r: b"{" + r.randbytes(8)),
        "meta.json a list": member("meta.json", lambda r: b"[1, 2]"),
        "caption not UTF-8": member("caption.txt", lambda r: b"\xff\xfe\xfa"),
        "member too large": member(tf, lambda r: b"\0" * (LIMITS.max_member_bytes + 1)),
        "duplicate member": lambda m, k, r: insert_after(
            m, k, [(f"{k}.actions.npy", dict(m)[f"{k}.actions.npy"])]
        ),
        "member without extension": lambda m, k, r: insert_after(m, k, [(k, b"x")]),
        "symlink member": lambda m, k, r: insert_after(m, k, [symlink(f"{k}.extra.npy")]),
    }  # fmt: skip


STRAY_KINDS = {  # a member of no sample: refused on its own, every sample comes back
    "member in a folder": lambda k, r: (f"../{k}.extra.npy", b"\0"),
    "absolute path member": lambda k, r: (f"/tmp/{k}.frames.npy", b"\0"),
}


def symlink(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return info


# -- the tar itself broken --------------------------------------------------------------------


def member_ends(data: bytes) -> list[int]:
    """Byte offsets where each member's data ends (the last one is the archive's data end)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return [m.offset_data + m.size for m in tar.getmembers()]


def header_offsets(data: bytes) -> list[int]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return [m.offset for m in tar.getmembers()]


def flip_header(data: bytes, rng: random.Random) -> bytes:
    """Flip one byte of a member header outside its checksum field (bytes after the
    checksum's NUL are ignored by tar, so a flip there would change nothing)."""
    offset = rng.choice(header_offsets(data))
    position = rng.choice([i for i in range(512) if not 148 <= i < 156])
    flipped = bytearray(data)
    flipped[offset + position] ^= rng.randrange(1, 256)
    return bytes(flipped)


def pax_bomb(members) -> bytes:
    """A pax header block claiming 1 GiB of extended header data before the members."""
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, 2**30
    return info.tobuf(format=tarfile.USTAR_FORMAT) + pack(members)


COMPRESSORS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}


def shard_mutations() -> dict:
    """kind -> f(data, members, rng) -> broken shard bytes."""
    return {
        "truncated": lambda d, m, r: d[: r.randrange(member_ends(d)[-1])],
        "cut at a member boundary": lambda d, m, r: d[: r.choice(member_ends(d)[:-1])],
        "tar header byte flipped": lambda d, m, r: flip_header(d, r),
        "compressed shard": lambda d, m, r: COMPRESSORS[r.choice(sorted(COMPRESSORS))](d),
        "pax header bomb": lambda d, m, r: pax_bomb(m),
        "random bytes": lambda d, m, r: r.randbytes(r.randint(1, 4000)),
        "empty file": lambda d, m, r: b"",
        "garbage after the end": lambda d, m, r: d + r.randbytes(600),
        "pickle-capable member (.pyd)": lambda d, m, r: pack(
            insert_after(
                m, m[0][0].split(".")[0], [(m[0][0].split(".")[0] + ".state.pyd", b"\x80.")]
            )
        ),
    }


# -- random shards ----------------------------------------------------------------------------


def random_shard(rng: random.Random) -> bytes:
    """Random members: random keys, fields and bytes (sometimes valid .npy/.json)."""
    members = []
    for _ in range(rng.randint(1, 12)):
        key = rng.choice(["a", "b", "ep1-0", "x.y", "", "c"])
        name = f"{key}.{rng.choice(['frames.npy', 'actions.npy', 'meta.json', 'codes.npy'])}"
        data = rng.choice(
            [
                rng.randbytes(rng.randint(0, 200)),
                encode_field("x.npy", np.zeros((2, 8, 8, 3), np.uint8)),
                encode_field("x.npy", np.zeros((rng.randint(0, 3),), np.int64)),
                json.dumps(rng.choice([{}, [], 1, "s", None])).encode(),
            ]
        )
        members.append((name, data))
    return pack(members)


# -- building and running cases ---------------------------------------------------------------

SAMPLE_KINDS = sorted(sample_mutations("clips")) + sorted(STRAY_KINDS)
SHARD_KINDS = sorted(shard_mutations())
ALL_KINDS = SAMPLE_KINDS + SHARD_KINDS + ["random shard"]


def make_case(kind: str, rng: random.Random) -> ShardCase:
    base = rng.choice(["clips", "tokens"])
    members = base_members(base, rng)
    good = originals(members)
    if kind == "random shard":
        return ShardCase(kind, "random", random_shard(rng), base, {})
    if kind in SHARD_KINDS:
        data = shard_mutations()[kind](pack(members), members, rng)
        return ShardCase(kind, "shard", data, base, good)
    key = rng.choice(sorted(good))
    if kind in STRAY_KINDS:
        broken = insert_after(members, key, [STRAY_KINDS[kind](key, rng)])
        return ShardCase(kind, "sample", pack(broken), base, good, None)
    broken = sample_mutations(base)[kind](members, key, rng)
    return ShardCase(kind, "sample", pack(broken), base, good, key)


def checked_dataset(case: ShardCase, path: Path):
    """The reader as training and encoding use it: the data module's sample checks."""
    module_class = VideoDataModule if case.base == "clips" else TokenDataModule
    module = module_class(train_shards=str(path), shuffle_buffer=0, limits=LIMITS)
    return module.dataset("train")


def run_case(case: ShardCase, folder: Path, index: int = 0) -> Outcome:
    path = folder / f"case-{index:05d}.tar"
    path.write_bytes(case.data)
    dataset = checked_dataset(case, path)
    samples, refused_dataset, crash, messages = [], False, None, []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            samples = list(dataset)
        except UnsafeSampleError as error:
            refused_dataset = True
            messages.append(str(error))
        except Exception as error:  # the fuzz looks for exactly these
            crash = f"{type(error).__name__}: {error}"[:300]
    messages += [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    path.unlink()
    outcome = Outcome(
        case.kind, case.scope, len(samples), dataset.stats.skipped,
        all(path.name in m for m in messages), refused_dataset, crash,
    )  # fmt: skip
    outcome.problems = promises_broken(case, samples, outcome)
    return outcome


def promises_broken(case: ShardCase, samples: list[dict], outcome: Outcome) -> list[str]:
    problems = [] if outcome.crash is None else [f"crashed: {outcome.crash}"]
    if not outcome.named:
        problems.append("a refusal does not name the shard")
    if case.scope == "random":
        return problems
    keys = [s["__key__"] for s in samples]
    if any(k not in case.originals for k in keys) or len(set(keys)) != len(keys):
        problems.append(f"returned samples {keys} that were not written once each")
    if case.scope == "sample":
        expected = sorted(k for k in case.originals if k != case.broken_key)
        if sorted(keys) != expected or outcome.skipped != 1:
            problems.append(
                f"{case.kind} in {case.broken_key}: got {sorted(keys)} and {outcome.skipped} "
                f"skips, expected {expected} and 1"
            )
    if case.scope == "shard" and not outcome.refused:
        problems.append("a broken shard read without a refusal")
    tf = time_field(case.base).split(".")[0]
    for sample in samples:
        original = case.originals[sample["__key__"]][f"{tf}.npy"]
        if not np.array_equal(np.load(io.BytesIO(original)), sample[tf]):
            problems.append(f"sample {sample['__key__']} came back changed")
    return problems
