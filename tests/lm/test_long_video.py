"""Long videos from full_sequence_flow in overlapping windows (lm/long_video.py): the plan of
windows, a 3x clip-length video's shape, overlap frames kept exactly, actions per window."""

from __future__ import annotations

import pytest
import torch

from arvideo.lm.conditioning import Conditions
from arvideo.lm.decoding import DecodeOptions
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.long_video import Window, generate_tiled, plan_windows


def test_plan_windows_covers_the_video_with_the_overlap():
    assert plan_windows(9, 3, 1, 1) == [
        Window(0, 3, 1), Window(2, 3, 1), Window(4, 3, 1), Window(6, 3, 1)
    ]  # fmt: skip
    assert plan_windows(5, 4, 0, 2) == [Window(0, 4, 0), Window(2, 3, 2)]
    assert plan_windows(3, 4, 1, 2) == [Window(0, 3, 1)]  # shorter than a clip: one window
    with pytest.raises(ValueError, match="overlap must be in"):
        plan_windows(9, 3, 1, 3)
    with pytest.raises(ValueError, match="context must be fewer"):
        plan_windows(9, 3, 3, 1)


def options(seed: int = 5) -> DecodeOptions:
    settings = SamplingSettings(steps=2)
    return DecodeOptions(settings, 2.0, generator=torch.Generator().manual_seed(seed))


def test_a_video_three_clips_long_keeps_every_overlap_frame(make_model, make_batch):
    model = make_model(order="full_sequence_flow", head="velocity", latent_dim=3, num_actions=3)
    clip = model.config.grid[0]  # 3 latent frames
    batch = make_batch(model, frames=3 * clip)
    context, actions = batch.latents[:, :1], batch.actions
    out = generate_tiled(model, context, Conditions(actions_BT=actions), 3 * clip, options(), 2)
    assert out.values.shape == (2, 3 * clip) + context.shape[2:]
    assert torch.isfinite(out.values).all()
    torch.testing.assert_close(out.values[:, :1], context)
    assert out.seams == list(range(clip, 3 * clip))  # overlap 2 of 3: one new frame a window
    for before, after in zip(out.window_values, out.window_values[1:]):
        assert torch.equal(after[:, :2], before[:, -2:])  # conditioned, never redrawn
    for window, values in zip(out.windows, out.window_values):
        assert torch.equal(out.values[:, window.start : window.start + window.frames], values)
    assert out.forward_passes == 2 * len(out.windows)  # 2 Euler rows per window (guided: one pass)


def test_each_window_reads_the_actions_of_its_own_frames(make_model, make_batch):
    """The second window equals a decode of the first's tail with the actions from its start."""
    model = make_model(order="full_sequence_flow", head="velocity", latent_dim=3, num_actions=3)
    batch = make_batch(model, frames=5)
    context, actions = batch.latents[:, :1], batch.actions
    tiled = generate_tiled(model, context, Conditions(actions_BT=actions), 5, options(), 1)
    by_hand = options()
    first = model.decode(context, Conditions(actions_BT=actions), 3, by_hand)
    state = by_hand.generator.get_state()

    def second_window(actions_BT: torch.Tensor) -> torch.Tensor:
        by_hand.generator.set_state(state)
        tail = first.values[:, -1:]
        return model.decode(tail, Conditions(actions_BT=actions_BT), 3, by_hand).values[:, 1:]

    expected = second_window(actions[:, 2:])
    torch.testing.assert_close(tiled.values[:, 3:], expected)
    assert not torch.allclose(second_window(actions), expected)  # the shift matters
