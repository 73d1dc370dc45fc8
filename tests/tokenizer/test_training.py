import pytest
import torch

from arvideo.tokenizer import (
    CodebookUsage,
    DiscriminatorConfig,
    PatchDiscriminator,
    TokenizerLoss,
    TokenizerLossConfig,
)
from arvideo.tokenizer.config import BOTTLENECK_KINDS
from arvideo.tokenizer.losses import foreground_mask, pixel_weights, weighted_reconstruction_loss

KINDS = BOTTLENECK_KINDS


def moving_square_video(frames=3, size=16):
    """Grey background, one bright 2×2 square moving right by 2 pixels per frame."""
    video = torch.full((1, 3, frames, size, size), -0.5)
    for t in range(frames):
        video[:, :, t, 6:8, 2 + 2 * t : 4 + 2 * t] = 1.0
    return video


@pytest.mark.parametrize("kind", KINDS)
def test_a_few_steps_lower_the_loss(kind, make_tokenizer):
    model = make_tokenizer(kind, temporal=2)
    video = moving_square_video(frames=3)
    loss_fn = TokenizerLoss(TokenizerLossConfig())
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(12):
        recon = model(video, generator)
        loss = loss_fn.generator_loss(video, recon).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert min(losses[-3:]) < 0.7 * losses[0], losses


def test_foreground_mask_marks_moving_pixels():
    video = moving_square_video()
    mask = foreground_mask(video, ("median",), threshold=0.1, dilation=0)
    assert mask.shape == (1, 1, 3, 16, 16)
    assert mask[0, 0, 0, 6, 2] and mask[0, 0, 2, 7, 7]
    assert not mask[0, 0, :, 0, 0].any() and int(mask.sum()) == 3 * 4
    dilated = foreground_mask(video, ("median",), threshold=0.1, dilation=1)
    assert dilated[0, 0, 0, 5, 1] and int(dilated.sum()) > int(mask.sum())
    previous = foreground_mask(video, ("previous",), threshold=0.1, dilation=0)
    assert previous[0, 0, 1, 6, 2]  # where the square was in frame 0 changes in frame 1
    assert not foreground_mask(video[:, :, :1], ("median", "previous")).any()  # an image


def test_foreground_weighted_loss_counts_moving_pixels_more():
    video = moving_square_video()
    config = TokenizerLossConfig(foreground_weight=20.0)
    weights = pixel_weights(video, config)
    assert weights.max() == 20.0 and weights.min() == 1.0
    missed_object = video.clone()
    missed_object[:, :, :, 6:8] = -0.5  # draws no square at all
    missed_background = video.clone()
    missed_background[:, :, :, 12:14, 10:12] += 1.5  # same error on as many static pixels
    plain = TokenizerLossConfig(foreground_weight=1.0)
    a = weighted_reconstruction_loss(video, missed_object, plain).loss
    b = weighted_reconstruction_loss(video, missed_background, plain).loss
    torch.testing.assert_close(a, b)
    a = weighted_reconstruction_loss(video, missed_object, config).loss
    b = weighted_reconstruction_loss(video, missed_background, config).loss
    assert a > 5 * b


def test_gan_term_with_adaptive_weight(make_tokenizer):
    model = make_tokenizer("fsq")
    discriminator = PatchDiscriminator(DiscriminatorConfig(width=16, layers=2))
    loss_fn = TokenizerLoss(TokenizerLossConfig(gan_weight=0.5, gan_start_step=10), discriminator)
    video = moving_square_video()
    recon = model(video)
    before = loss_fn.generator_loss(video, recon, step=9)
    assert "gan" not in before.metrics
    assert loss_fn.discriminator_loss(video, recon.video, step=9).loss == 0
    after = loss_fn.generator_loss(video, recon, 10, model.decoder.last_layer_weight)
    assert after.metrics["gan_adaptive_weight"] > 0
    after.loss.backward()
    d_loss = loss_fn.discriminator_loss(video, recon.video, step=10).loss
    d_loss.backward()
    assert discriminator.net[0].weight.grad is not None
    with pytest.raises(ValueError, match="last_layer_weight"):
        loss_fn.generator_loss(video, model(video), step=10)


def test_codebook_usage_windows_and_groups():
    usage = CodebookUsage(vocab_size=8, window=2)
    usage.update(torch.tensor([[0, 0, 1, 1]]))
    report = usage.report()["codes"]
    assert report.fraction_used == 2 / 8 and report.dead_codes == 6
    assert report.perplexity == pytest.approx(2.0)
    usage.update(torch.tensor([[2, 3]]))
    usage.update(torch.tensor([[2, 3]]))  # the first batch leaves the window
    assert usage.report()["codes"].fraction_used == 2 / 8
    rvq = CodebookUsage(vocab_size=4, code_depth=2)
    rvq.update(torch.tensor([[[0, 1], [0, 2]]]))
    assert rvq.report()["depth_1"].fraction_used == 0.5
    msvq = CodebookUsage(vocab_size=4, scales=(1, 2))
    msvq.update(torch.tensor([[[3, 0, 1, 2, 3]]]))
    report = msvq.metrics()
    assert report["usage/scale_1/fraction_used"] == 0.25
    assert report["usage/scale_2/perplexity"] == pytest.approx(4.0)
    assert report["usage/all_scales/dead_codes"] == 0  # the shared codebook: every code used
