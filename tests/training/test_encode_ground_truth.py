"""Token shards keep the clips' ground truth: rewards, dones, truncated and RAM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvideo.data.reader import ShardDataset, expand_shards
from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer
from arvideo.training.encode import encode

FIELDS = ("rewards", "dones", "truncated", "ram")


def read(folder) -> dict[str, dict]:
    shards = expand_shards(str(folder / "*.tar"))
    return {s["__key__"]: s for s in ShardDataset(shards, rank=0, world_size=1)}


@pytest.mark.parametrize("temporal", [1, 2])
def test_token_shards_round_trip_ground_truth(small_pong, tmp_path, temporal):
    torch.manual_seed(0)
    config = TokenizerConfig(
        widths=(8, 8, 8, 8), latent_dim=3, temporal_compression=temporal,
        bottleneck=BottleneckConfig(kind="fsq", fsq_levels=(5, 4, 3)),
    )  # fmt: skip
    VideoTokenizer(config).eval().save_pretrained(tmp_path / "tok")
    encode(tokenizer=str(tmp_path / "tok"), data=str(small_pong), out=str(tmp_path / "t"),
           progress=False)  # fmt: skip
    clips, tokens = read(small_pong), read(tmp_path / "t")
    assert tokens.keys() == clips.keys()
    for key, token in tokens.items():
        clip, latent_frames = clips[key], token["codes"].shape[0]
        kept = np.arange(latent_frames) * temporal  # the last frame of each latent frame
        np.testing.assert_array_equal(token["ram"], clip["ram"][kept])
        assert token["ram"].dtype == np.uint8 and token["rewards"].dtype == np.float32
        used = 1 + (latent_frames - 1) * temporal
        assert token["rewards"].sum() == clip["rewards"][:used].sum()
        assert token["dones"].any() == clip["dones"][:used].any()
        assert all(token[name].shape[0] == latent_frames for name in FIELDS)
