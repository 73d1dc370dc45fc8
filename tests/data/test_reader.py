"""The safe reader: refuses pickle-capable members, survives broken shards, works secure."""

from __future__ import annotations

import io
import shutil
import tarfile

import numpy as np
import pytest
import webdataset

from arvideo.data.datamodule import VideoDataModule
from arvideo.data.reader import ShardDataset, expand_shards
from arvideo.data.shards import ShardWriter, UnsafeSampleError, decode_field, encode_field


def write_tar(path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_field_codecs_round_trip_and_refuse():
    frames = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    np.testing.assert_array_equal(decode_field("frames.npy", encode_field("x.npy", frames)), frames)
    assert decode_field(".meta.json", encode_field("meta.json", {"a": [1]})) == {"a": [1]}
    assert decode_field("caption.txt", encode_field("caption.txt", "a red square")) == (
        "a red square"
    )
    with pytest.raises(UnsafeSampleError, match="pyd"):
        decode_field("x.pyd", b"\x80\x04K\x01.")
    with pytest.raises(ValueError):  # an object array would need pickle
        decode_field("x.npy", encode_field("x.npy", np.array([{"a": 1}], dtype=object)))


def test_pyd_member_is_refused_with_shard_and_key(tmp_path):
    good = encode_field("actions.npy", np.zeros(4, dtype=np.int64))
    shard = tmp_path / "evil-000000.tar"
    write_tar(shard, {"s0.actions.npy": good, "s1.actions.npy": good, "s1.state.pyd": b"\x80."})
    with pytest.raises(UnsafeSampleError, match=r"evil-000000\.tar.*s1.*state\.pyd"):
        list(ShardDataset([str(shard)], rank=0, world_size=1))


def test_truncated_and_corrupt_shards_are_skipped_and_counted(pong_dir, tmp_path):
    for shard in pong_dir.glob("train-*.tar"):
        shutil.copy(shard, tmp_path / shard.name)
    shutil.copy(pong_dir / "dataset.json", tmp_path / "dataset.json")
    broken = tmp_path / "train-000001.tar"
    broken.write_bytes(broken.read_bytes()[:300_000])  # cut inside the 3rd sample's frames
    corrupt = tmp_path / "train-000002.tar"
    data = bytearray(corrupt.read_bytes())
    data[600:700] = b"\xff" * 100  # garbage in the first member's .npy payload
    corrupt.write_bytes(bytes(data))
    module = VideoDataModule(str(tmp_path), batch_size=3, shuffle_buffer=0)
    loader = module.train_dataloader()
    with pytest.warns(RuntimeWarning, match="skipping bad shard data"):
        batches = list(loader)
    clips = sum(len(b) for b in batches)
    stats = loader.dataset.stats
    total = sum(1 for _ in ShardDataset(expand_shards(str(pong_dir / "train-*.tar"))))
    assert stats.skipped >= 2 and 0 < clips < total and stats.samples == clips
    assert all(b.video.shape[1:] == (3, 8, 64, 64) and b.actions.shape[1] == 8 for b in batches)


def test_reader_works_under_wds_secure(pong_dir, monkeypatch):
    """WDS_SECURE=1 makes webdataset's gopen refuse local files; our opener does not use it."""
    monkeypatch.setattr(webdataset.utils, "enforce_security", True)
    with pytest.raises(ValueError, match="cannot open local files"):
        webdataset.gopen(str(next(pong_dir.glob("*.tar"))))
    batch = next(iter(VideoDataModule(str(pong_dir), batch_size=2).val_dataloader()))
    assert batch.video.shape == (2, 3, 8, 64, 64)


def test_writer_is_atomic_and_refuses_bad_keys(tmp_path):
    done = []
    writer = ShardWriter(tmp_path, "train", shard_size=2, on_shard_done=done.append)
    sample = {"actions.npy": np.zeros(3, dtype=np.int64)}
    for i in range(3):
        writer.write(f"k{i}", sample)
    assert len(done) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "train-000000.tar",
        "train-000001.tar.tmp",
    ]
    writer.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train-000000.tar"]
    with pytest.raises(ValueError, match="key"):
        writer.write("a.b", sample)
    with pytest.raises(UnsafeSampleError):
        writer.write("k9", {"state.pyd": 1})
