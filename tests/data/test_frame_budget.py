"""Collection by frame budget: exact, split train-then-val, cut episodes marked; stats stored."""

from __future__ import annotations

import json

import pytest

from arvideo.data.atari import collect_atari
from arvideo.data.atari_games import UnknownGameError, resolve_game
from arvideo.data.clips import split_frame_budget
from arvideo.data.info import data_info


def test_frame_budget_is_exact_and_cuts_the_last_episode_of_each_split(tmp_path):
    summary = collect_atari(
        game="pong", frames=150, max_steps_per_episode=60, clip_length=8, val_fraction=0.2,
        out=str(tmp_path / "p"), progress=False,
    )  # fmt: skip
    manifest = json.loads((tmp_path / "p" / "dataset.json").read_text())
    stats = manifest["stats"]
    # train 120 frames: a 61-frame episode (60-step cap) and one cut at 59; val 30, cut
    assert stats["frames"] == 150 and stats["episode_lengths"] == [61, 59, 30]
    assert stats["truncated"] == 3 and stats["ended"] == 0 and summary.stats == stats
    assert manifest["splits"]["train"]["episodes"] == [0, 1]
    assert manifest["splits"]["val"]["episodes"] == [2]
    assert manifest["frames"] == 8 * (7 + 7 + 3)  # clips drop each episode's short tail
    assert 0.5 < stats["moving_share"] <= 1.0 and manifest["game"] == "Pong"
    assert manifest["policy"]["fire_when_waiting"] and manifest["config"]["frames"] == 150
    assert data_info(str(tmp_path / "p"), show=False).stats == stats


def test_split_frame_budget():
    assert [(b.split, b.frames) for b in split_frame_budget(100, 0.1)] == [
        ("train", 90), ("val", 10),
    ]  # fmt: skip
    assert [b.split for b in split_frame_budget(4, 0.1)] == ["train"]  # val rounds to 0
    with pytest.raises(ValueError, match="frames must be"):
        split_frame_budget(0, 0.1)


def test_episodes_or_frames_not_both(tmp_path):
    with pytest.raises(ValueError, match="not both"):
        collect_atari(episodes=2, frames=100, out=str(tmp_path / "x"), progress=False)


def test_unknown_game_lists_close_matches():
    assert resolve_game("space_invaders") == "SpaceInvaders"
    with pytest.raises(UnknownGameError, match="close matches: Breakout"):
        resolve_game("Brekout")
    with pytest.raises(UnknownGameError, match="game='Pongg'.*Pong"):
        collect_atari(game="Pongg", frames=10, progress=False)
