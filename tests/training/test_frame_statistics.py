"""A data set's own pixel statistics and the loss weights derived from them
(arvideo/data/frame_statistics.py): measured with the loss's masks, stored beside the data
set and reloaded, turned into weights that give the foreground and the moving pixels their
stated shares; `loss.weights: data` makes a real fit use them."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import torch

from arvideo.data import frame_statistics
from arvideo.data.frame_statistics import (
    STATISTICS_FILE,
    FrameStatistics,
    dataset_statistics,
    derived_weights,
    mask_settings,
    measure_statistics,
)
from arvideo.tokenizer.losses import TokenizerLossConfig

PREVIOUS_ONLY = TokenizerLossConfig(foreground_references=("previous",), foreground_dilation=0)


def moving_dot(frames: int, size: int = 4) -> torch.Tensor:
    """1×3×T×size×size: black court, one white pixel moving one column right per frame."""
    video = torch.full((1, 3, frames, size, size), -1.0)
    for t in range(frames):
        video[0, :, t, 0, t] = 1.0
    return video


def test_masks_are_measured_per_training_crop():
    # two frames: the dot's old and new pixel are marked in both, 4 of 2·16 pixels
    stats = measure_statistics(moving_dot(2), 2, PREVIOUS_ONLY)
    assert stats.crops == 1 and stats.foreground_fraction == stats.moving_fraction == 4 / 32
    # four frames as two crops of two: the same per crop; one 4-frame crop marks 2, 3, 3
    # and 2 pixels (a middle frame: where the dot was, is, and will be)
    assert measure_statistics(moving_dot(4), 2, PREVIOUS_ONLY).moving_fraction == 4 / 32
    assert measure_statistics(moving_dot(4), None, PREVIOUS_ONLY).moving_fraction == 10 / 64
    with pytest.raises(ValueError, match="crop_frames=5"):
        measure_statistics(moving_dot(4), 5, PREVIOUS_ONLY)


def _stats(foreground: float, moving: float) -> FrameStatistics:
    return FrameStatistics(100, 3, foreground, moving, mask_settings(TokenizerLossConfig()))


def _shares(stats: FrameStatistics, foreground_weight: float, motion_weight: float):
    f, m = stats.foreground_fraction, stats.moving_fraction
    total = (1 - f) + (f - m) * foreground_weight + m * motion_weight
    return (f - m) * foreground_weight / total, m * motion_weight / total


def test_derived_weights_give_the_stated_shares_and_reproduce_pong():
    config = TokenizerLossConfig(foreground_weight=50, motion_weight=500, error_weight=100)
    pong = _stats(0.0544, 0.0220)  # measured on Pong's training crops (the defaults' source)
    weights = derived_weights(pong, config)
    assert weights.foreground_weight == pytest.approx(50, rel=0.02)
    assert weights.motion_weight == pytest.approx(500, rel=0.02)
    assert weights.error_weight == pytest.approx(2 * weights.foreground_weight)
    busy = _stats(0.30, 0.10)  # a game with objects everywhere gets far lower weights
    heavy = derived_weights(busy, config)
    # total weight 0.7 / 0.07 = 10: 0.12·10 / 0.2 on the still foreground, 0.81·10 / 0.1 moving
    assert (heavy.foreground_weight, heavy.motion_weight) == pytest.approx((6.0, 81.0))
    shares = _shares(busy, heavy.foreground_weight, heavy.motion_weight)
    assert shares == pytest.approx((config.foreground_share, config.motion_share))
    still = derived_weights(_stats(0.0, 0.0), config)  # nothing moves: weights stay 1
    assert (still.foreground_weight, still.motion_weight) == (1.0, 1.0)


def test_shares_must_leave_the_background_some_weight():
    with pytest.raises(ValueError, match="foreground_share=0.5 and motion_share=0.5"):
        TokenizerLossConfig(foreground_share=0.5, motion_share=0.5)
    with pytest.raises(ValueError, match="weights='learned'"):
        TokenizerLossConfig(weights="learned")


def test_statistics_are_stored_beside_the_data_set_and_reloaded(pong_dir, tmp_path, monkeypatch):
    data = tmp_path / "pong"
    shutil.copytree(pong_dir, data)
    config = TokenizerLossConfig(foreground_references=("median", "previous", "rare"))
    first = dataset_statistics(data, 3, config, clips=8)
    assert (data / STATISTICS_FILE).is_file() and first.crops == 8 * (8 // 3)
    # real Pong frames: rare colours mark the still paddles too
    assert 0 < first.moving_fraction < first.foreground_fraction < 0.5

    def no_reading(*args, **kwargs):
        raise AssertionError("the stored statistics were measured again")

    monkeypatch.setattr("arvideo.training.tokenizer_runs.val_clips", no_reading)
    assert dataset_statistics(data, 3, config, clips=8) == first
    # other mask settings are another entry, measured and stored beside the first
    monkeypatch.undo()
    other = dataset_statistics(data, 3, replace(config, foreground_threshold=0.3), clips=8)
    assert other.mask_settings["foreground_threshold"] == 0.3
    assert len(frame_statistics.json.loads((data / STATISTICS_FILE).read_text())) == 2


def test_a_fit_with_data_weights_uses_them(pong_dir, tmp_path, run_fit, caplog):
    data = tmp_path / "pong"
    shutil.copytree(pong_dir, data)
    with caplog.at_level("INFO"):
        run_fit(
            "debug_vq.yaml", data, tmp_path / "run", "--trainer.max_steps=2",
            "--trainer.limit_val_batches=0", "--model.init_args.loss.weights=data",
        )  # fmt: skip
    assert (data / STATISTICS_FILE).is_file()
    assert "loss weights from the data set: foreground" in caplog.text
