"""Atari collection: bit-exact read back, determinism, episode split, resize, manifest."""

from __future__ import annotations

import json

import numpy as np

from arvideo.data.atari import AtariConfig, AtariGame, collect_atari, play_episode, resize_frame
from arvideo.data.reader import ShardDataset, expand_shards


def read_all(folder, split="*"):
    return list(ShardDataset(expand_shards(str(folder / f"{split}-*.tar")), rank=0, world_size=1))


def test_read_back_is_bit_exact(pong_dir, pong_args):
    config = AtariConfig(game="Pong", max_steps_per_episode=pong_args["max_steps_per_episode"])
    game = AtariGame(config)
    episode = play_episode(game, 1, np.random.SeedSequence(pong_args["seed"]).spawn(3)[1])
    game.close()
    clips = [s for s in read_all(pong_dir) if s["meta"]["episode"] == 1]
    assert len(clips) == episode.frames_THWC.shape[0] // 8 > 5
    for clip in clips:
        start = clip["meta"]["start"]
        assert clip["frames"].dtype == np.uint8 and clip["frames"].shape == (8, 64, 64, 3)
        np.testing.assert_array_equal(clip["frames"], episode.frames_THWC[start : start + 8])
        for name in ("actions", "rewards", "dones", "truncated"):
            expected = episode.per_frame[f"{name}.npy"][start : start + 8]
            np.testing.assert_array_equal(clip[name], expected)
        assert clip["meta"]["action_meanings"][:2] == ["NOOP", "FIRE"]
    assert episode.per_frame["truncated.npy"][-1]  # the 150-step cap ended the episode
    assert episode.frames_THWC.shape[0] == 151


def test_same_seed_same_bytes(pong_dir, pong_args, tmp_path):
    collect_atari(out=str(tmp_path / "again"), **pong_args)
    names = sorted(p.name for p in pong_dir.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "again").iterdir())
    for name in names:
        assert (pong_dir / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    other = collect_atari(out=str(tmp_path / "other"), **{**pong_args, "seed": 1, "episodes": 1})
    first = sorted((tmp_path / "other").glob("train-*.tar"))[0]
    assert other.clips > 0 and first.read_bytes() != (pong_dir / first.name).read_bytes()


def test_split_is_by_episode(pong_dir):
    manifest = json.loads((pong_dir / "dataset.json").read_text())
    train, val = manifest["splits"]["train"], manifest["splits"]["val"]
    assert train["episodes"] == [0, 1] and val["episodes"] == [2]
    train_eps = {s["meta"]["episode"] for s in read_all(pong_dir, "train")}
    val_eps = {s["meta"]["episode"] for s in read_all(pong_dir, "val")}
    assert train_eps == {0, 1} and val_eps == {2}
    assert manifest["complete"] and manifest["clips"] == train["clips"] + val["clips"]
    assert manifest["frames"] == 8 * manifest["clips"]
    assert manifest["action_space"]["n"] == 6 and manifest["size"] == [64, 64]
    on_disk = sorted(p.name for p in pong_dir.glob("*.tar"))
    listed = sorted(s["name"] for split in (train, val) for s in split["shards"])
    assert on_disk == listed and not list(pong_dir.glob("*.tmp"))


def test_box_resize_keeps_the_pong_ball():
    """Slide a 2×4 px ball across a 160×210 frame: BOX always keeps a visible blob at 64×64,
    NEAREST loses it at some positions."""
    lost = {"box": 0, "nearest": 0}
    for x in range(60, 80):
        frame = np.full((210, 160, 3), 40, dtype=np.uint8)
        frame[101:105, x : x + 2] = 236
        for resample in lost:
            lost[resample] += resize_frame(frame, 64, resample).max() < 40 + 30
    assert lost["box"] == 0 and lost["nearest"] > 0
