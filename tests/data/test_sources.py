"""Shapes and video-folder sources, video I/O, interrupted collection, data info, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from arvideo.data import shapes
from arvideo.data.datamodule import VideoDataModule
from arvideo.data.info import data_info
from arvideo.data.reader import ShardDataset, expand_shards
from arvideo.data.shapes import collect_shapes
from arvideo.data.video_files import collect_videos
from arvideo.video_io import read_video, write_video


def test_shapes_clips_captions_actions(tmp_path):
    summary = collect_shapes(
        out=str(tmp_path / "s"), clips=12, size=32, clip_length=6, actions=True,
        shard_size=5, seed=1, progress=False,
    )  # fmt: skip
    assert summary.clips == 12 and summary.shards == 4 and summary.complete
    batch = next(iter(VideoDataModule(str(tmp_path / "s"), batch_size=4).train_dataloader()))
    assert batch.video.shape == (4, 3, 6, 32, 32) and batch.actions.shape == (4, 6)
    assert all(c.startswith("a ") and " moves " in c for c in batch.captions)
    first = batch.meta[0]["shapes"][0]
    assert f"a {first['color']} {first['kind']} moves" in batch.captions[0]
    again = collect_shapes(
        out=str(tmp_path / "t"), clips=12, size=32, clip_length=6, actions=True,
        shard_size=5, seed=1, progress=False,
    )  # fmt: skip
    assert again.clips == 12
    for shard in (tmp_path / "s").glob("*.tar"):
        assert shard.read_bytes() == (tmp_path / "t" / shard.name).read_bytes()


def test_interrupted_collection_leaves_complete_shards(tmp_path, monkeypatch):
    real_draw, calls = shapes.draw_clip, []

    def draw_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 8:
            raise KeyboardInterrupt
        return real_draw(*args, **kwargs)

    monkeypatch.setattr(shapes, "draw_clip", draw_then_interrupt)
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        collect_shapes(out=str(out), clips=20, size=16, clip_length=4, shard_size=3,
                       progress=False)  # fmt: skip
    manifest = json.loads((out / "dataset.json").read_text())
    assert not manifest["complete"] and manifest["clips"] == 6  # 7 drawn, 2 shards of 3 kept
    assert sorted(p.name for p in out.iterdir()) == [
        "dataset.json", "train-000000.tar", "train-000001.tar",
    ]  # fmt: skip
    assert len(list(ShardDataset(expand_shards(str(out / "*.tar"))))) == 6


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_video_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    frames = np.repeat(rng.integers(0, 256, (5, 1, 1, 3), dtype=np.uint8), 4, axis=0)
    frames = np.broadcast_to(frames, (20, 31, 45, 3)).copy()  # odd size, repeated frames
    path = write_video(tmp_path / f"clip{suffix}", frames, fps=12)
    video = read_video(path)
    expected_size = (32, 46) if suffix == ".mp4" else (31, 45)  # mp4 pads to even
    assert video.frames_THWC.shape == (20, *expected_size, 3) and video.fps == pytest.approx(
        12, 0.1
    )
    error = np.abs(video.frames_THWC[:, :31, :45].astype(int) - frames).mean()
    assert error < 8
    with pytest.raises(ValueError, match="suffix"):
        write_video(tmp_path / "clip.avi", frames)


def test_video_folder_source(tmp_path):
    folder = tmp_path / "videos"
    ramp = np.linspace(0, 255, 48, dtype=np.uint8)[:, None, None, None]
    write_video(folder / "a.mp4", np.broadcast_to(ramp, (48, 40, 60, 3)).copy(), fps=24)
    write_video(folder / "sub" / "b.mp4", np.broadcast_to(ramp, (48, 40, 40, 3)).copy(), fps=24)
    summary = collect_videos(
        str(folder), out=str(tmp_path / "out"), size=16, fps=12, clip_length=8, progress=False
    )
    assert summary.clips == 6  # 48 frames at 24 fps -> 24 at 12 fps -> 3 clips per file
    samples = list(ShardDataset(expand_shards(str(tmp_path / "out" / "*.tar"))))
    assert {s["meta"]["file"] for s in samples} == {"a.mp4", "sub/b.mp4"}
    assert all(s["frames"].shape == (8, 16, 16, 3) and s["meta"]["fps"] == 12 for s in samples)
    first = next(s for s in samples if s["meta"]["start"] == 0)["frames"]
    assert np.all(np.diff(first.mean(axis=(1, 2, 3))) > 5)  # every other frame kept: a ramp


def test_data_info(pong_dir, capsys):
    info = data_info(str(pong_dir))
    manifest = json.loads((pong_dir / "dataset.json").read_text())
    assert info.clips == manifest["clips"] and info.frames == manifest["frames"]
    assert info.games == ["Pong"] and info.splits["val"].episodes == 1
    assert sum(info.action_counts.values()) == info.frames
    assert "RIGHTFIRE" in capsys.readouterr().out


def test_cli_help_lists_the_options(capsys):
    from arvideo.cli import main

    with pytest.raises(SystemExit):
        main(["collect", "atari", "--help"])
    text = capsys.readouterr().out
    for option in ("--game", "--episodes", "--max_steps_per_episode", "--resample", "--out"):
        assert option in text
    with pytest.raises(SystemExit):
        main(["collect", "videos", "--help"])
    assert "folder" in capsys.readouterr().out
