"""The motion beat: gaps between big changes, found on a known beat, none where nothing
recurs, and stored beside the data set."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from arvideo.data import motion_beat
from arvideo.data.motion_beat import (
    BEAT_FILE,
    MotionBeat,
    big_change_gaps,
    changed_pixels,
    dataset_beat,
)


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def beating_clips(generator, clips=8, frames=16, every=5):
    """A moving dot every frame; the whole top half flips every `every` frames."""
    video = -torch.ones(clips, 3, frames, 32, 32)
    for t in range(frames):
        video[:, :, t, 30, t] = 1.0  # small motion: 1 pixel moves
        if t % every == 0:
            video[:, 0, t:, :16] = torch.rand(1, generator=generator) * 2 - 1
    return video


def test_changed_pixels_counts_pixels_that_differ(generator):
    video = beating_clips(generator, clips=1, every=5)
    changed = changed_pixels(video)[0]
    assert changed.shape == (15,)
    assert changed[0] == 2  # the dot left one pixel and arrived at another
    assert changed[4] == 2 + 16 * 32  # frame 5: the top half flipped


def test_a_known_beat_is_found_and_sets_the_clip_length(generator):
    changed = changed_pixels(beating_clips(generator, every=5))
    gaps = big_change_gaps(changed, threshold=10 * 2)
    beat = MotionBeat("train", 8, 2.0, dict(gaps))
    assert set(gaps) == {5} and beat.beat == 5
    assert beat.clip_frames() == 7
    assert "5 frames" in beat.report()


def test_no_beat_when_big_changes_are_rare_or_irregular():
    assert MotionBeat("train", 2000, 20.0, {1: 1}).beat is None  # one gap in 2,000 clips
    assert MotionBeat("train", 100, 20.0, {3: 10, 5: 10, 7: 10}).beat is None  # no majority
    assert MotionBeat("train", 100, 20.0, {}).clip_frames() is None
    assert "none" in MotionBeat("train", 100, 20.0, {}).report()


def test_beat_of_a_real_data_set_is_stored_and_reloaded(pong_dir, tmp_path, monkeypatch):
    data = tmp_path / "pong"
    shutil.copytree(pong_dir, data)
    beat = dataset_beat(data)
    stored = json.loads((data / BEAT_FILE).read_text())
    assert stored["clips"] == beat.clips > 0 and beat.median_changed_pixels >= 1

    def no_remeasure(*args, **kwargs):
        raise AssertionError("the stored beat should have been reloaded")

    monkeypatch.setattr(motion_beat, "measure_beat", no_remeasure)
    assert dataset_beat(data) == beat
    assert beat.beat is None  # Pong: the ball and paddles move every frame, nothing beats
