"""`arvideo play` headless with scripted keys, and `arvideo generate` on a tiny Pong set."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from arvideo.lm.transformer import Transformer
from arvideo.model_folder import save_model_folder
from arvideo.play import action_for_key, play, render_halfblocks
from arvideo.video_io import read_video

PONG = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]


def test_keys_map_to_the_games_actions():
    assert [action_for_key(k, PONG) for k in ("up", "down", "space", "none")] == [2, 3, 1, 0]
    assert action_for_key("up", ["NOOP", "FIRE", "UP", "RIGHT"]) == 2
    with pytest.raises(ValueError, match="key"):
        action_for_key("jump", PONG)


def test_halfblocks_draw_two_rows_per_line():
    frame = np.zeros((4, 3, 3), np.uint8)
    frame[0, 0] = (255, 0, 0)
    text = render_halfblocks(frame)
    assert text.count("\n") == 1 and text.count("▀") == 6
    assert text.startswith("\x1b[38;2;255;0;0m\x1b[48;2;0;0;0m▀")


def test_play_headless_records_the_session(model_dir, tmp_path, capsys):
    record = tmp_path / "play.gif"
    summary = play(str(model_dir), steps=4, keys="up,up,space", record=str(record), render=True)
    assert summary.steps == 4 and summary.fps > 0
    frames = read_video(record).frames_THWC
    assert frames.shape == (5, 16, 16, 3)  # a sampled first frame + 4 steps
    assert "▀" in capsys.readouterr().out
    with pytest.raises(ValueError, match="steps"):
        play(str(model_dir), keys="up")


def test_play_with_compiled_steps_plays_the_same_game(model_dir, tmp_path, monkeypatch):
    """`--compile` reaches the session's decoder: its slot-cache step (run eagerly here;
    tests/lm/test_slot_cache.py compiles it) draws the same frames from the same seed."""
    monkeypatch.setattr(Transformer, "_compiled_slot_body", lambda self: self._slot_body)
    spy = []
    original = Transformer.slot_step
    monkeypatch.setattr(
        Transformer, "slot_step", lambda *a, **k: spy.append(1) or original(*a, **k)
    )
    videos = []
    for compile in (False, True):
        record = tmp_path / f"play_{compile}.gif"
        play(str(model_dir), steps=3, keys="up,space", record=str(record), compile=compile)
        videos.append(read_video(record).frames_THWC)
    assert spy and np.array_equal(videos[0], videos[1])


@pytest.fixture(scope="module")
def pong_model(builders, tmp_path_factory):
    """Random models for 64×64 frames (4×4 latent grid) with Pong's 6 actions."""
    tokenizer, lm, info = builders
    path = tmp_path_factory.mktemp("pong_model") / "model"
    save_model_folder(path, tokenizer(spatial=16), lm(), info(frame_size=(64, 64)))
    return path


def test_generate_cli_on_a_pong_val_clip(pong_model, pong_dir, tmp_path):
    out = tmp_path / "pong.mp4"
    command = [
        sys.executable, "-m", "arvideo.cli", "generate", "--model", str(pong_model),
        "--context", str(pong_dir), "--num_frames", "4", "--out", str(out),
        "--progress", "false", "--seed", "1",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout and "PSNR vs truth:" in result.stdout
    assert "dB" in result.stdout
    frames = read_video(out).frames_THWC
    assert frames.shape == (6, 64, 128, 3)  # 2 context + 4 new; truth | generated


def test_generate_function_reports_psnr(pong_model, pong_dir, tmp_path):
    from arvideo.generate_cli import generate

    summary = generate(
        str(pong_model), context=str(pong_dir), num_frames=2, out=str(tmp_path / "g.gif"),
        progress=False,
    )  # fmt: skip
    assert summary.frames == 4 and summary.psnr_db is not None and summary.psnr_db > 0
