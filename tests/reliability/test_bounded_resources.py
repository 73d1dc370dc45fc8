"""Bounded resources (issue 18, items 7-9): shards, model folders and generation lengths
are checked against stated limits before memory is spent on them."""

from __future__ import annotations

import gzip
import io
import resource
import tarfile

import numpy as np
import pytest

from arvideo.data.datamodule import VideoDataModule
from arvideo.data.reader import ShardDataset
from arvideo.data.shards import encode_field
from arvideo.data.tar_samples import MIB, ShardLimits


def clip_members(count: int = 3, big: int | None = None) -> list[tuple[str, bytes]]:
    members = []
    for index in range(count):
        frames = np.zeros((2, 8, 8, 3), np.uint8)
        if index == 1 and big is not None:
            frames = np.zeros((big, 8, 8, 3), np.uint8)
        members.append((f"k{index}.frames.npy", encode_field("frames.npy", frames)))
    return members


def tar_bytes(members) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def read(path, **limits):
    dataset = ShardDataset([str(path)], rank=0, world_size=1, limits=ShardLimits(**limits))
    with pytest.warns(RuntimeWarning) as caught:
        keys = [sample["__key__"] for sample in dataset]
    return keys, dataset.stats.skipped, " ".join(str(w.message) for w in caught)


def test_compressed_shard_is_refused_counted_and_named_unless_allowed(tmp_path):
    shard = tmp_path / "train-000000.tar"
    shard.write_bytes(gzip.compress(tar_bytes(clip_members())))
    keys, skipped, message = read(shard)
    assert keys == [] and skipped == 1
    assert "train-000000.tar" in message and "gzip-compressed" in message
    assert "allow_compressed" in message
    allowed = ShardDataset([str(shard)], rank=0, world_size=1, limits=ShardLimits(1024, True))
    assert [s["__key__"] for s in allowed] == ["k0", "k1", "k2"]


def test_member_over_the_cap_drops_its_sample_only(tmp_path):
    shard = tmp_path / "train-000000.tar"
    shard.write_bytes(tar_bytes(clip_members(big=64)))  # k1: 12 kB of frames
    keys, skipped, message = read(shard, max_member_bytes=4096)
    assert keys == ["k0", "k2"] and skipped == 1
    assert "'k1'" in message and "max_member_bytes=4096" in message
    assert ShardLimits().max_member_bytes == 256 * MIB


def test_compressed_bomb_stays_small_in_memory(tmp_path):
    """256 MiB of zeros in one member gzip to ~250 kB: the cap skips it unread."""
    shard = tmp_path / "bomb-000000.tar"
    zeros = b"\0" * (256 * MIB)
    info = tarfile.TarInfo("k0.frames.npy")
    info.size = len(zeros)
    with tarfile.open(shard, "w:gz", compresslevel=1) as tar:
        tar.addfile(info, io.BytesIO(zeros))
    del zeros
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    keys, skipped, message = read(shard, max_member_bytes=MIB, allow_compressed=True)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert keys == [] and skipped == 1 and "max_member_bytes" in message
    assert grown_mb < 100


def test_pax_header_bomb_is_refused_before_reading(tmp_path):
    shard = tmp_path / "pax-000000.tar"
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, 2**30
    shard.write_bytes(info.tobuf(format=tarfile.USTAR_FORMAT) + tar_bytes(clip_members()))
    keys, skipped, message = read(shard)
    assert keys == [] and skipped == 1 and "tar header of 1073741824 bytes" in message


def test_shard_cut_at_a_member_boundary_is_counted(tmp_path):
    data = tar_bytes(clip_members())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        second = tar.getmembers()[1].offset  # k0 is whole, k1 and k2 are gone
    shard = tmp_path / "cut-000000.tar"
    shard.write_bytes(data[:second])
    keys, skipped, message = read(shard)
    assert keys == ["k0"] and skipped == 1 and "end-of-archive marker" in message


def test_npy_header_promising_a_terabyte_is_refused_unallocated(tmp_path):
    buffer = io.BytesIO()
    header = {"descr": "|u1", "fortran_order": False, "shape": (10**12,)}
    np.lib.format.write_array_header_1_0(buffer, header)
    members = clip_members()
    members[1] = ("k1.frames.npy", buffer.getvalue() + b"\0" * 64)
    shard = tmp_path / "npy-000000.tar"
    shard.write_bytes(tar_bytes(members))
    keys, skipped, message = read(shard)
    assert keys == ["k0", "k2"] and skipped == 1 and "1000000000000 bytes" in message


def test_data_module_passes_its_limits_to_the_reader(tmp_path):
    (tmp_path / "train-000000.tar").write_bytes(tar_bytes(clip_members(big=64)))
    module = VideoDataModule(
        train_shards=str(tmp_path / "train-*.tar"), shuffle_buffer=0,
        limits=ShardLimits(max_member_bytes=4096),
    )  # fmt: skip
    with pytest.warns(RuntimeWarning, match="max_member_bytes=4096"):
        assert len(list(module.dataset("train"))) == 2
