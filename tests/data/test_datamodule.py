"""Data modules: batches, rank/worker splits, crops, token shards."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvideo.data.batch import TokenBatch, VideoBatch
from arvideo.data.datamodule import TokenDataModule, VideoDataModule
from arvideo.data.shards import ShardWriter


def keys(loader) -> list[str]:
    return [m["key"] for batch in loader for m in batch.meta]


def test_video_batches(pong_dir):
    module = VideoDataModule(str(pong_dir), batch_size=4, shuffle_buffer=16, seed=3, num_frames=5)
    batch = next(iter(module.train_dataloader()))
    assert isinstance(batch, VideoBatch) and batch.video.dtype == torch.float32
    assert batch.video.shape == (4, 3, 5, 64, 64) and batch.actions.shape == (4, 5)
    assert -1.0 <= batch.video.min() < batch.video.max() <= 1.0
    assert batch.actions.dtype == torch.int64 and batch.captions is None
    assert all(0 <= m["crop_start"] <= 3 for m in batch.meta)
    val = next(iter(module.val_dataloader()))
    assert all(m["crop_start"] == 0 and m["episode"] == 2 for m in val.meta)


def test_two_ranks_read_disjoint_samples(pong_dir):
    everything = keys(VideoDataModule(str(pong_dir), batch_size=4).train_dataloader())
    per_rank = [
        keys(VideoDataModule(str(pong_dir), batch_size=4, rank=r, world_size=2).train_dataloader())
        for r in range(2)
    ]
    assert set(per_rank[0]).isdisjoint(per_rank[1]) and min(map(len, per_rank)) > 0
    assert sorted(per_rank[0] + per_rank[1]) == sorted(everything)
    # fewer shards than readers: readers split samples instead of shards, still disjoint
    val = [
        keys(VideoDataModule(str(pong_dir), batch_size=2, rank=r, world_size=3).val_dataloader())
        for r in range(3)
    ]
    assert sum(map(len, val)) == len(set().union(*val)) > 0
    with pytest.raises(ValueError, match="rank"):
        next(iter(VideoDataModule(str(pong_dir), rank=2, world_size=2).train_dataloader()))


def test_workers_split_and_epochs_reshuffle(pong_dir):
    module = VideoDataModule(str(pong_dir), batch_size=2, num_workers=2, shuffle_buffer=8)
    loader = module.train_dataloader()
    first, second = keys(loader), keys(loader)
    assert len(first) == len(set(first)) == len(second)
    assert sorted(first) == sorted(second) and first != second


def write_token_shards(folder, latents: bool) -> None:
    writer = ShardWriter(folder, "train", shard_size=3)
    rng = np.random.default_rng(0)
    for i in range(5):
        sample = {"actions.npy": rng.integers(0, 6, 4), "meta.json": {"label": i % 2}}
        if latents:
            sample["latents.npy"] = rng.standard_normal((4, 2, 2, 3)).astype(np.float16)
        else:
            sample["codes.npy"] = rng.integers(0, 512, (4, 2, 2)).astype(np.int16)
        sample["caption.txt"] = f"clip {i}"
        writer.write(f"c{i:03d}", sample)
    writer.close()


@pytest.mark.parametrize("latents", [False, True])
def test_token_batches(tmp_path, latents):
    write_token_shards(tmp_path, latents)
    module = TokenDataModule(train_shards=str(tmp_path / "train-*.tar"), batch_size=5, num_frames=3)
    batch = next(iter(module.train_dataloader()))
    assert isinstance(batch, TokenBatch) and len(batch) == 5
    tokens = batch.latents if latents else batch.codes
    assert tokens.shape == (5, 3, 2, 2, 3) if latents else tokens.shape == (5, 3, 2, 2)
    assert tokens.dtype == (torch.float32 if latents else torch.int64)
    assert (batch.codes is None) == latents and batch.actions.shape == (5, 3)
    assert sorted(batch.labels.tolist()) == [0, 0, 0, 1, 1] and len(batch.captions) == 5


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="path"):
        VideoDataModule()
    with pytest.raises(ValueError, match="train_shards"):
        VideoDataModule(train_shards=str(tmp_path / "none-*.tar")).train_dataloader()
