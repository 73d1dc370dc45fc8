"""The "rare" foreground reference: objects that stand still, single frames, static borders."""

import math

import pytest
import torch

from arvideo.tokenizer import TokenizerLossConfig
from arvideo.tokenizer.losses import (
    foreground_mask,
    pixel_weights,
    rare_colours,
    temporal_median,
    weighted_reconstruction_loss,
)


def still_paddle_video(frames=4, size=16):
    """Brown-ish background, a white border row, a paddle that never moves, a moving ball."""
    video = torch.empty(2, 3, frames, size, size)
    video[:, 0], video[:, 1], video[:, 2] = 0.1, -0.4, -0.8
    video[:, :, :, 0:2] = 0.9  # border: static and common (2/16 of the pixels)
    video[:, :, :, 4:10, 1] = torch.tensor([0.6, 0.0, -0.4]).view(3, 1, 1)  # paddle
    for t in range(frames):
        video[:, :, t, 8, 3 + 2 * t] = 0.9  # ball, the border's colour
    return video


def test_rare_colours_mark_the_still_paddle_not_the_border():
    video = still_paddle_video()
    rare = rare_colours(video, fraction=0.05)
    assert rare.shape == (2, 1, 4, 16, 16) and rare.dtype == torch.bool
    assert rare[:, :, :, 4:10, 1].all()
    assert not rare[:, :, :, 0:2].any() and not rare[:, :, :, 12].any()
    assert not rare_colours(video, fraction=0.001).any()  # the test can fail


def test_rare_reference_with_motion_references():
    video = still_paddle_video()
    motion = foreground_mask(video, ("median", "previous"), dilation=0)
    assert not motion[:, :, :, 4:10, 1].any()  # a paddle standing still is "background"
    both = foreground_mask(video, ("median", "previous", "rare"), dilation=0, rare_fraction=0.05)
    assert both[:, :, :, 4:10, 1].all() and both[0, 0, 2, 8, 7]  # paddle and (moving) ball
    image = foreground_mask(video[:, :, :1], ("rare",), dilation=0, rare_fraction=0.05)
    assert image[:, :, 0, 4:10, 1].all()  # T=1 still has a foreground


def test_pixel_weights_with_rare_reference():
    video = still_paddle_video()
    config = TokenizerLossConfig(
        foreground_weight=10.0,
        foreground_references=("rare",),
        foreground_dilation=0,
        rare_colour_fraction=0.05,
    )
    weights = pixel_weights(video, config)
    assert weights[0, 0, 0, 5, 1] == 10.0 and weights[0, 0, 0, 15, 15] == 1.0
    assert weights[0, 0, 0, 0, 0] == 1.0
    with pytest.raises(ValueError, match="rare_colour_fraction"):
        TokenizerLossConfig(rare_colour_fraction=0.0)
    with pytest.raises(ValueError, match="foreground_references"):
        TokenizerLossConfig(foreground_references=("dominant",))


def test_motion_weight_lifts_moving_pixels_above_still_foreground():
    video = still_paddle_video()
    config = TokenizerLossConfig(
        foreground_weight=10.0,
        motion_weight=100.0,
        foreground_references=("rare", "previous"),
        foreground_dilation=0,
        rare_colour_fraction=0.05,
    )
    weights = pixel_weights(video, config)
    assert weights[0, 0, 1, 8, 5] == 100.0  # the ball, where it is now
    assert weights[0, 0, 1, 8, 3] == 100.0  # and where it was a frame ago
    assert weights[0, 0, 1, 5, 1] == 10.0 and weights[0, 0, 1, 15, 15] == 1.0  # still paddle
    lower = pixel_weights(video, TokenizerLossConfig(**{**vars(config), "motion_weight": 5.0}))
    assert lower[0, 0, 1, 8, 5] == 10.0  # below foreground_weight: no effect
    with pytest.raises(ValueError, match="motion_weight"):
        TokenizerLossConfig(motion_weight=0.5)


def test_error_weight_makes_a_ghost_cost_as_much_as_a_miss():
    video = still_paddle_video()
    ghost = video.clone()
    ghost[:, :, :, 12, 12] = 0.9  # a white dot on the background, nowhere in the truth
    config = TokenizerLossConfig(foreground_references=("rare",), foreground_dilation=0)
    plain = weighted_reconstruction_loss(video, ghost, config).loss
    config = TokenizerLossConfig(
        foreground_references=("rare",), foreground_dilation=0, error_weight=1000.0
    )
    weighted = weighted_reconstruction_loss(video, ghost, config).loss
    assert weighted > 10 * plain
    assert weighted_reconstruction_loss(video, video, config).loss == 0
    with pytest.raises(ValueError, match="error_weight"):
        TokenizerLossConfig(error_weight=0.0)


def test_foreground_psnr_sees_only_the_foreground():
    """An error on the background leaves it unchanged; the same error on the still paddle
    (foreground by rarity) lowers it; no foreground, no metric."""
    video = still_paddle_video()
    config = TokenizerLossConfig(
        foreground_references=("rare",), foreground_dilation=0, rare_colour_fraction=0.05
    )
    exact = weighted_reconstruction_loss(video, video, config).metrics["foreground_psnr"]
    background_off = video.clone()
    background_off[:, :, :, 14, 14] += 0.5
    assert weighted_reconstruction_loss(video, background_off, config).metrics[
        "foreground_psnr"
    ] == pytest.approx(exact)
    paddle_off = video.clone()
    paddle_off[:, :, :, 5, 1] += 0.5
    dropped = weighted_reconstruction_loss(video, paddle_off, config).metrics["foreground_psnr"]
    assert dropped < exact - 20
    # 1 of the paddle's 6 pixels off by 0.5 in every channel: mse = 0.25 / 6
    assert dropped == pytest.approx(10 * math.log10(4.0 / (0.25 / 6)), abs=1e-3)
    blank = torch.zeros(1, 3, 2, 8, 8)
    assert "foreground_psnr" not in weighted_reconstruction_loss(blank, blank, config).metrics


@pytest.mark.parametrize("frames", [1, 2, 3, 4, 5])
def test_temporal_median_is_torch_median_over_frames(frames: int) -> None:
    video = torch.randint(4, (2, 3, frames, 5, 6), generator=torch.Generator().manual_seed(0))
    video = video.float()  # few levels: many ties, as in Atari frames
    expected = video.median(dim=2, keepdim=True).values
    assert torch.equal(temporal_median(video), expected)
