"""Metrics: PSNR/SSIM per frame, foreground PSNR, Fréchet distance, Pong object locator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from arvideo.metrics import (
    foreground_mask,
    foreground_psnr,
    frames_to_video,
    frechet_distance,
    frechet_distance_from_moments,
    median_background,
    object_error,
    psnr,
    ssim,
    video_to_frames,
)
from arvideo.pong_objects import (
    BACKGROUND_RGB,
    OBJECT_RGB,
    PLAYFIELD_ROWS,
    locate_objects,
    playfield_rows,
)


def random_video(seed: int, shape=(2, 3, 4, 16, 16)) -> torch.Tensor:
    return torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(seed)).to(
        torch.uint8
    )


def as_float(video_uint8: torch.Tensor) -> torch.Tensor:
    return video_uint8.float() / 127.5 - 1


def test_psnr_known_error_and_dtypes_agree():
    real = torch.full((2, 3, 4, 16, 16), 100, dtype=torch.uint8)
    fake = real.clone()
    fake[0, :, 1] += 10  # error of 10 levels in frame 1 of clip 0 only
    values = psnr(real, fake)
    assert values.shape == (2, 4)
    expected = -10 * math.log10((10 / 255) ** 2)
    assert values[0, 1] == pytest.approx(expected, rel=1e-5)
    assert torch.isinf(values[0, 0]) and torch.isinf(values[1]).all()
    assert torch.allclose(psnr(as_float(real), as_float(fake)), values, rtol=1e-4)


def test_ssim_per_frame():
    real = random_video(0)
    noisy = real.clone()
    noise = torch.randint(-40, 41, noisy[1, :, 2].shape, generator=torch.Generator().manual_seed(1))
    noisy[1, :, 2] = (noisy[1, :, 2].int() + noise).clamp(0, 255).to(torch.uint8)
    values = ssim(real, noisy)
    assert values.shape == (2, 4)
    assert values[0].allclose(torch.ones(4), atol=1e-5)
    assert values[1, 2] < 0.99
    assert values[1, [0, 1, 3]].allclose(torch.ones(3), atol=1e-5)
    assert torch.allclose(ssim(as_float(real), as_float(noisy)), values, atol=1e-4)


def square_clips(positions, size=16):
    """1×3×T×size×size uint8: grey background with a white 3×3 square at each (row, col)."""
    video = torch.full((1, 3, len(positions), size, size), 50, dtype=torch.uint8)
    for t, (row, col) in enumerate(positions):
        video[0, :, t, row : row + 3, col : col + 3] = 255
    return video


def test_median_background_removes_moving_object():
    video = square_clips([(0, 0), (5, 5), (10, 10)])
    background = median_background(video)
    assert background.shape == (3, 16, 16) and background.dtype == torch.uint8
    assert (background == 50).all()


def test_foreground_psnr_counts_only_foreground():
    real = square_clips([(2, 2), (8, 8)])
    background = median_background(square_clips([(0, 0), (5, 5), (10, 10)]))
    fake = real.clone()
    fake[0, :, 0, 12:, 12:] = 0  # wrong background only: foreground still perfect
    fake[0, :, 1, 8:11, 8:11] = 235  # foreground off by 20 levels
    values = foreground_psnr(real, fake, background)
    assert torch.isinf(values[0, 0]) and torch.isfinite(psnr(real, fake)[0, 0])
    assert values[0, 1] == pytest.approx(-10 * math.log10((20 / 255) ** 2), rel=1e-5)
    empty = torch.full_like(real, 50)  # no foreground at all: NaN, no error
    assert torch.isnan(foreground_psnr(empty, fake, background)).all()
    float_values = foreground_psnr(as_float(real), as_float(fake), as_float(background))
    assert torch.allclose(float_values[0, 1], values[0, 1], rtol=1e-4)
    mask = foreground_mask(real, background)  # the pixels it scored: the square, per frame
    assert mask.shape == (1, 2, 16, 16) and mask.dtype == torch.bool
    assert mask[0, 1, 8:11, 8:11].all() and int(mask[0, 1].sum()) == int(mask[0, 0].sum())
    assert not foreground_mask(empty, background).any()


def test_frechet_distance_diagonal_closed_form():
    mean_a, mean_b = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 1.0, 0.0])
    std_a, std_b = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([3.0, 1.0, 0.5])
    expected = float((mean_a - mean_b).square().sum() + (std_a - std_b).square().sum())
    exact = frechet_distance_from_moments(
        mean_a, torch.diag(std_a**2), mean_b, torch.diag(std_b**2)
    )
    assert exact == pytest.approx(expected, rel=1e-10)
    g = torch.Generator().manual_seed(0)
    feats_a = mean_a + std_a * torch.randn(50_000, 3, generator=g)
    feats_b = mean_b + std_b * torch.randn(50_000, 3, generator=g)
    assert frechet_distance(feats_a, feats_b) == pytest.approx(expected, rel=0.03)


def test_frechet_distance_properties():
    g = torch.Generator().manual_seed(1)
    mix_a, mix_b = torch.randn(4, 4, generator=g), torch.randn(4, 4, generator=g)
    feats_a = torch.randn(2000, 4, generator=g) @ mix_a  # correlated, non-commuting
    feats_b = torch.randn(2000, 4, generator=g) @ mix_b + 0.5
    assert frechet_distance(feats_a, feats_a) == pytest.approx(0.0, abs=1e-6)
    forward, backward = frechet_distance(feats_a, feats_b), frechet_distance(feats_b, feats_a)
    assert forward > 0.1 and forward == pytest.approx(backward, rel=1e-8)
    one_d = frechet_distance(torch.randn(1000, 1, generator=g), torch.randn(1000, 1) * 2)
    assert one_d == pytest.approx(1.0, abs=0.15)
    with pytest.raises(ValueError, match="feats_b"):
        frechet_distance(feats_a, torch.randn(5, 3))


def test_frame_layout_round_trip():
    video = random_video(3)
    frames = video_to_frames(as_float(video))
    assert frames.shape == (2, 4, 16, 16, 3) and torch.equal(frames, video_to_frames(video))
    assert torch.equal(frames_to_video(frames[0]), video[:1])


# ---- Pong objects ------------------------------------------------------------------------


def draw_pong(ball, left, right, size=64) -> torch.Tensor:
    """A synthetic size×size frame; each object a rectangle given as (row, col, height, width)."""
    frame = torch.tensor(BACKGROUND_RGB, dtype=torch.uint8).expand(size, size, 3).clone()
    for name, box in (("ball", ball), ("left_paddle", left), ("right_paddle", right)):
        if box is not None:
            row, col, height, width = box
            frame[row : row + height, col : col + width] = torch.tensor(OBJECT_RGB[name])
    return frame


def test_locate_synthetic_objects():
    frame = draw_pong(ball=(30, 20, 2, 1), left=(20, 6, 5, 2), right=(40, 56, 5, 2))
    found = locate_objects(frame)
    assert (found.ball.x, found.ball.y) == pytest.approx((20.0, 30.5))
    assert (found.left_paddle.x, found.left_paddle.y) == pytest.approx((6.5, 22.0))
    assert (found.right_paddle.x, found.right_paddle.y) == pytest.approx((56.5, 42.0))
    missing = locate_objects(draw_pong(ball=None, left=(20, 6, 5, 2), right=None))
    assert missing.ball is None and missing.right_paddle is None
    # white above the playfield is the border, never the ball
    border = locate_objects(draw_pong(ball=(2, 20, 2, 2), left=None, right=None))
    assert border.ball is None
    with pytest.raises(ValueError, match="frame_HWC"):
        locate_objects(frame.float())


def test_object_error_on_synthetic_frames():
    real = torch.stack(
        [draw_pong((30, 20 + t, 2, 1), (20, 6, 5, 2), (40, 56, 5, 2)) for t in range(4)]
    )
    near = torch.stack([draw_pong((31, 21 + t, 2, 1), (20, 6, 5, 2), None) for t in range(4)])
    rates = object_error(real, near, tolerance_px=1.5)
    assert (rates.ball, rates.left_paddle, rates.right_paddle) == (1.0, 1.0, 0.0)
    far = torch.stack([draw_pong((30, 40, 2, 1), (40, 6, 5, 2), (40, 56, 5, 2)) for _ in range(4)])
    rates = object_error(real, far, tolerance_px=2)
    assert (rates.ball, rates.left_paddle, rates.right_paddle, rates.frames) == (0.0, 0.0, 1.0, 4)


def test_object_error_visible_only_ignores_agreement_on_absence():
    real = torch.stack(
        [draw_pong((30, 20, 2, 1), (20, 6, 5, 2), None), draw_pong(None, (20, 6, 5, 2), None)]
    )
    empty = torch.stack([draw_pong(None, (20, 6, 5, 2), None)] * 2)
    rates = object_error(real, empty, tolerance_px=1.0)
    assert rates.ball == 0.5  # the frame without a ball agrees
    assert rates.visible["ball"] == 0.0  # but the one visible ball was missed
    assert math.isnan(rates.visible["right_paddle"])  # never visible


@pytest.fixture(scope="module")
def pong_frames():
    """Native 210×160 ALE Pong frames and their 64×64 BOX resizes (the data pipeline's)."""
    gym = pytest.importorskip("gymnasium")
    ale_py = pytest.importorskip("ale_py")
    from PIL import Image

    gym.register_envs(ale_py)
    env = gym.make("ALE/Pong-v5", frameskip=1, repeat_action_probability=0.0)
    observation, _ = env.reset(seed=0)
    actions = np.random.default_rng(0)
    native = []
    for _ in range(160):
        observation, *_ = env.step(int(actions.integers(env.action_space.n)))
        native.append(observation)
    env.close()
    native = np.stack(native[60:])  # the ball is served after ~60 frames
    small = np.stack([np.asarray(Image.fromarray(f).resize((64, 64), Image.BOX)) for f in native])
    return native, small


@pytest.mark.slow
def test_locate_real_pong_frames(pong_frames):
    """64×64 positions agree with exact-colour positions found in the native frames."""
    native, small = pong_frames
    assert playfield_rows(210) == PLAYFIELD_ROWS
    counts = dict.fromkeys(("ball", "left_paddle", "right_paddle"), 0)
    for big, little in zip(native, small, strict=True):
        exact, found = locate_objects(big), locate_objects(little)
        for name in counts:
            a, b = getattr(exact, name), getattr(found, name)
            assert (a is None) == (b is None), name
            if a is None:
                continue
            counts[name] += 1
            assert abs((a.x + 0.5) * 64 / 160 - 0.5 - b.x) < 0.75, name
            assert abs((a.y + 0.5) * 64 / 210 - 0.5 - b.y) < 0.75, name
            assert (b.x < 16) if name == "left_paddle" else True
            assert (b.x > 48) if name == "right_paddle" else True
    assert min(counts.values()) >= 50, counts


@pytest.mark.slow
def test_object_error_on_real_pong_frames(pong_frames):
    _, small = pong_frames
    same = object_error(small, small)
    assert (same.ball, same.left_paddle, same.right_paddle) == (1.0, 1.0, 1.0)
    shifted = np.roll(small, 5, axis=2)  # everything 5 px to the right
    moved = object_error(small, shifted, tolerance_px=2)
    assert moved.ball < 0.2 and moved.right_paddle < 0.2
