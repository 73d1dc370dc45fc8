"""Ground truth in clip shards (rewards, dones, RAM per frame) and its latent-frame rule."""

from __future__ import annotations

import numpy as np
import pytest

from arvideo.data.atari import AtariConfig, AtariGame, play_episode
from arvideo.data.datamodule import temporal_crop
from arvideo.data.ground_truth import latent_ground_truth
from arvideo.data.reader import ShardDataset, expand_shards


def test_clip_shards_round_trip_rewards_dones_and_ram(pong_dir, pong_args):
    game = AtariGame(AtariConfig("Pong", max_steps_per_episode=pong_args["max_steps_per_episode"]))
    episode = play_episode(game, 2, np.random.SeedSequence(pong_args["seed"], spawn_key=(2,)))
    game.close()
    clips = ShardDataset(expand_shards(str(pong_dir / "val-*.tar")), rank=0, world_size=1)
    ram_T128 = episode.per_frame["ram.npy"]
    assert ram_T128.shape == (episode.frames_THWC.shape[0], 128) and ram_T128.dtype == np.uint8
    assert len(np.unique(ram_T128, axis=0)) > 100  # the state moves frame by frame
    for clip in clips:
        start = clip["meta"]["start"]
        for name in ("rewards", "dones", "truncated", "ram"):
            expected = episode.per_frame[f"{name}.npy"][start : start + 8]
            assert clip[name].dtype == expected.dtype
            np.testing.assert_array_equal(clip[name], expected)
    cropped = temporal_crop(clip, 3, None)
    assert cropped["ram"].shape == (3, 128) and cropped["frames"].shape[0] == 3


def test_latent_ground_truth_sums_rewards_ors_ends_keeps_last_ram():
    # frames 0..6, r = 3: latent frames {0}, {1, 2, 3}, {4, 5, 6}
    clip = {
        "rewards": np.array([1, 0, 2, 0, 0, 0, -1], dtype=np.float32),
        "dones": np.array([0, 0, 0, 0, 0, 0, 1], dtype=bool),
        "truncated": np.zeros(7, dtype=bool),
        "ram": np.arange(7 * 128).reshape(7, 128).astype(np.uint8),
    }
    out = latent_ground_truth(clip, 3, 3)
    assert out["rewards.npy"].tolist() == [1, 2, -1]
    assert out["dones.npy"].tolist() == [False, False, True]
    assert not out["truncated.npy"].any()
    np.testing.assert_array_equal(out["ram.npy"], clip["ram"][[0, 3, 6]])
    same = latent_ground_truth(clip, 1, 7)
    np.testing.assert_array_equal(same["ram.npy"], clip["ram"])
    with pytest.raises(ValueError, match="has 7 rows, fewer than the 9 frames"):
        latent_ground_truth(clip, 2, 5)  # would need 9 frames
