"""Collection policies: FIRE starts a game that waits for it; sticky holds; mixtures."""

from __future__ import annotations

import numpy as np
import pytest

from arvideo.data.atari import AtariConfig, AtariGame, play_episode
from arvideo.data.policies import (
    FireWhenWaiting,
    Observation,
    PolicyConfig,
    StickyRandomPolicy,
    episode_policy,
)


def changes(frames: list[np.ndarray]) -> list[bool]:
    return [not np.array_equal(a, b) for a, b in zip(frames, frames[1:])]


def play(game: AtariGame, policy, steps: int) -> tuple[list[np.ndarray], list[int]]:
    rng = np.random.default_rng(0)
    frames, actions = [game.reset(0, rng)], []
    for _ in range(steps):
        actions.append(policy(Observation(frames[-1], game.lives())))
        frames.append(game.step(actions[-1], rng).frame_HWC)
    return frames, actions


def test_fire_when_waiting_starts_breakout():
    """Breakout stands still under NOOP until FIRE launches the ball."""
    game = AtariGame(AtariConfig("Breakout", noop_max=0))
    try:
        still, _ = play(game, lambda observation: 0, 20)
        assert not any(changes(still))
        frames, actions = play(game, FireWhenWaiting(lambda observation: 0, 1, 8), 20)
    finally:
        game.close()
    assert actions[0] == 1 and set(actions[1:]) <= {0, 1}  # FIRE first
    assert all(changes(frames)[1:10])  # the ball moves after FIRE


def test_game_without_fire_plays_the_base_policy():
    config = AtariConfig("Freeway", noop_max=0, max_steps_per_episode=30)
    game = AtariGame(config)
    try:
        assert "FIRE" not in game.action_meanings
        episode = play_episode(game, 0, np.random.SeedSequence(0))
    finally:
        game.close()
    assert episode.meta["fire_action"] is None and episode.frames_THWC.shape[0] == 31


def test_sticky_holds_have_the_asked_mean():
    policy = StickyRandomPolicy(6, 8.0, np.random.default_rng(0))
    actions = np.array([policy() for _ in range(4000)])
    switches = int((actions[1:] != actions[:-1]).sum())
    # a new draw every 8 steps on average; 5 in 6 draws change the action
    assert 4000 / switches == pytest.approx(8.0 * 6 / 5, rel=0.15)


def test_mixture_draws_its_component_per_episode():
    config = PolicyConfig(kind="mixture", mixture_weights=(0.0, 1.0), fire_when_waiting=False)
    chosen = episode_policy(config, ["NOOP", "FIRE"], np.random.default_rng(0))
    assert chosen.base == "sticky" and chosen.fire_action is None
    with pytest.raises(ValueError, match="equal length"):
        PolicyConfig(kind="mixture", mixture_weights=(1.0,))
