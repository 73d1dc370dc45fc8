"""Token stability: the meter's arithmetic, and the cell encoder's guarantee on real Pong."""

from __future__ import annotations

import pytest
import torch

from arvideo.tokenizer import StabilityMeter, VideoTokenizer

from .conftest import KINDS, tiny_config


def moving_square_video(frames: int = 4, size: int = 16) -> torch.Tensor:
    """B=1 clip on a flat background; a 4×4 square moves 4 px right per frame (cell 4)."""
    video = torch.full((1, 3, frames, size, size), -0.5)
    for t in range(frames):
        video[0, :, t, 4:8, 4 * t : 4 * t + 4] = 1.0
    return video


def content_codes(video: torch.Tensor, cell: int) -> torch.Tensor:
    """Perfectly stable codes: 1 where a cell holds the square, 0 on background."""
    pooled = torch.nn.functional.max_pool3d(video[:, :1], (1, cell, cell))[:, 0]
    return (pooled > 0).long()  # B×T×h×w


def test_content_codes_are_perfectly_stable():
    video = moving_square_video()
    meter = StabilityMeter(cell=4)
    meter.update(video, codes=content_codes(video, 4))
    result = meter.result()
    # 16 cells per frame, 3 transitions; per transition 2 cells change (left, entered)
    assert result.unchanged_cells == 3 * 16 - 3 * 2
    assert result.kept == 1.0
    assert result.codes_per_patch == 1.0
    assert result.distinct_patches == 2
    assert result.codes_for_commonest_patch == 1


def test_flickering_background_codes_are_caught():
    video = moving_square_video()
    codes = content_codes(video, 4)
    codes[0, 1, 3, 3] = 7  # one still background cell changes its code at t=1 (and back)
    meter = StabilityMeter(cell=4)
    meter.update(video, codes=codes)
    result = meter.result()
    assert result.kept == pytest.approx(1 - 2 / 42)
    assert result.codes_for_commonest_patch == 2  # the background is written two ways
    assert result.codes_per_patch == pytest.approx(1.5)


def test_latents_within_tolerance_count_as_kept():
    video = moving_square_video()
    latents = content_codes(video, 4).float().unsqueeze(1).repeat(1, 2, 1, 1, 1)
    noisy = latents + 0.001 * torch.randn(latents.shape, generator=torch.Generator().manual_seed(0))
    meter = StabilityMeter(cell=4, latent_tolerance=0.5)
    meter.update(video, latents_BCTHW=noisy)
    assert meter.result().kept == 1.0
    strict = StabilityMeter(cell=4, latent_tolerance=1e-6)
    strict.update(video, latents_BCTHW=noisy)
    assert strict.result().kept < 0.1


def test_mismatched_grid_is_refused():
    meter = StabilityMeter(cell=4)
    with pytest.raises(ValueError, match="grid"):
        meter.update(moving_square_video(), codes=torch.zeros(1, 4, 2, 2, dtype=torch.long))


def real_pong_video(pong_dir, clips: int = 4) -> torch.Tensor:
    from arvideo.data.datamodule import VideoDataModule

    module = VideoDataModule(path=str(pong_dir), batch_size=clips, shuffle_buffer=0)
    return next(iter(module.loader("val"))).video


# msvq's residual scales pool the whole frame, so its last scale flickers; its pyramid codes
# the last scale from the cell's own latent
STABLE_BY_CONSTRUCTION = [k for k in KINDS if k != "msvq"] + ["msvq pyramid"]


CELL_ENCODERS = ("cell", "cell_conv")


@pytest.mark.parametrize("encoder", CELL_ENCODERS)
@pytest.mark.parametrize("kind", STABLE_BY_CONSTRUCTION)
def test_cell_encoder_keeps_codes_of_still_pong_cells(pong_dir, kind, encoder):
    """Untrained weights on real frames: the guarantee is structural, not learned."""
    torch.manual_seed(0)
    options = {"residual": False, "scales": (1, 2, 4, 8)} if kind == "msvq pyramid" else {}
    config = tiny_config(
        kind.split()[0], spatial=8, encoder=encoder, attention=False, cell_width=32,
        bottleneck_options=options,
    )  # fmt: skip
    tokenizer = VideoTokenizer(config).eval()
    video = real_pong_video(pong_dir)
    with torch.no_grad():
        encoded = tokenizer.encode(video)
    meter = StabilityMeter(cell=8)
    meter.update(video, encoded.codes, encoded.latents if encoded.codes is None else None)
    result = meter.result()
    assert result.unchanged_cells > 100  # real Pong: most of the court stands still
    assert result.kept == 1.0
    assert result.codes_per_patch == 1.0


@pytest.mark.parametrize("encoder", CELL_ENCODERS)
def test_cell_encoder_sees_only_its_cell(encoder):
    torch.manual_seed(0)
    config = tiny_config("continuous", spatial=8, encoder=encoder, cell_width=32)
    tokenizer = VideoTokenizer(config).eval()
    video = torch.zeros(1, 3, 1, 32, 32)
    changed = video.clone()
    changed[..., 0:8, 0:8] = 1.0  # only cell (0, 0) changes
    with torch.no_grad():
        before, after = tokenizer.encoder(video), tokenizer.encoder(changed)
    moved = (before - after).abs().amax(dim=(0, 1, 2)) > 0
    assert moved[0, 0] and moved.sum() == 1


def test_cell_encoder_refuses_temporal_compression():
    for encoder in CELL_ENCODERS:
        with pytest.raises(ValueError, match=f"encoder='{encoder}'"):
            tiny_config("vq", temporal=2, encoder=encoder)
