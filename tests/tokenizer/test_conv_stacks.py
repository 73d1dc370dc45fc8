import pytest
import torch

from arvideo.tokenizer import TokenizerConfig


@pytest.mark.parametrize("temporal", [1, 2, 4])
@pytest.mark.parametrize("kind", ["fsq", "continuous"])
def test_encoder_latents_are_causal(temporal, kind, make_tokenizer, make_video):
    model = make_tokenizer(kind, temporal).eval()
    video = make_video(1, 9, 16, 16)
    with torch.no_grad():
        base, base_features = model.encode(video).latents, model.encoder(video)
        for frame in (1, 4, 8):
            changed = video.clone()
            changed[:, :, frame] = make_video(1, 1, 16, 16, seed=frame)[:, :, 0]
            latents, features = model.encode(changed).latents, model.encoder(changed)
            first_affected = -(-frame // temporal)  # latent j sees frames <= j * r
            assert torch.equal(latents[:, :, :first_affected], base[:, :, :first_affected])
            assert torch.equal(
                features[:, :, :first_affected], base_features[:, :, :first_affected]
            )
            # the test can fail: the first later latent frame does change
            assert not torch.allclose(
                features[:, :, first_affected], base_features[:, :, first_affected]
            )


@pytest.mark.parametrize("temporal", [1, 2])
def test_decoder_is_causal(temporal, make_tokenizer, make_video):
    model = make_tokenizer("continuous", temporal).eval()
    latents = torch.randn(1, 8, 4, 4, 4)
    with torch.no_grad():
        base = model.decode(latents)
        changed = latents.clone()
        changed[:, :, 2] += 1.0
        video = model.decode(changed)
    first_frame = 1 + (2 - 1) * temporal  # latent 2 makes frames r+1..2r
    assert torch.equal(video[:, :, :first_frame], base[:, :, :first_frame])
    assert not torch.allclose(video[:, :, first_frame], base[:, :, first_frame])


@pytest.mark.parametrize(
    "temporal, spatial, frames, height, width",
    [
        (1, 4, 1, 16, 16),
        (1, 8, 3, 32, 16),
        (2, 4, 1, 8, 8),
        (2, 8, 5, 16, 32),
        (4, 4, 9, 8, 12),
        (4, 16, 5, 32, 32),
        (2, 16, 3, 16, 16),
    ],
)
def test_shapes(temporal, spatial, frames, height, width, make_tokenizer, make_video):
    model = make_tokenizer("fsq", temporal, spatial).eval()
    video = make_video(2, frames, height, width)
    with torch.no_grad():
        out = model.encode(video)
        recon = model.decode(out.latents)
    grid = model.latent_grid(frames, height, width)
    assert grid.frames == 1 + (frames - 1) // temporal
    assert out.latents.shape == (2, 8, grid.frames, grid.height, grid.width)
    assert out.codes.shape == (2, grid.frames, grid.height, grid.width)
    assert out.codes.dtype == torch.int64
    assert recon.shape == video.shape


def test_bad_clip_sizes_raise_clear_errors(make_tokenizer, make_video):
    model = make_tokenizer("fsq", temporal=2)
    with pytest.raises(ValueError, match="frames=4"):
        model.encode(make_video(1, 4, 16, 16))
    with pytest.raises(ValueError, match="height=10"):
        model.encode(make_video(1, 3, 10, 16))
    with pytest.raises(ValueError, match="video_BCTHW"):
        model.encode(torch.zeros(1, 3, 16, 16))


def test_config_validation():
    with pytest.raises(ValueError, match="widths"):
        TokenizerConfig(widths=(16, 32), spatial_compression=8)
    with pytest.raises(ValueError, match="temporal_compression"):
        TokenizerConfig(temporal_compression=3)
    roundtrip = TokenizerConfig.from_dict(TokenizerConfig().to_dict())
    assert roundtrip == TokenizerConfig()


@pytest.mark.parametrize("temporal", [1, 2])
def test_time_kernel_one_shrinks_the_temporal_reach(temporal, make_tokenizer, make_video):
    """time_kernel=1: with r=1 every frame is coded alone (a clip decodes as its frames do);
    with r=2 only the temporal re-samplers reach back, so frame 1 still shapes latent 1."""
    model = make_tokenizer("continuous", temporal, time_kernel=1).eval()
    video = make_video(1, 5, 16, 16)
    with torch.no_grad():
        latents = model.encoder(video)
        if temporal == 1:
            alone = torch.cat([model.encoder(video[:, :, t : t + 1]) for t in range(5)], 2)
            torch.testing.assert_close(latents, alone, rtol=0, atol=1e-5)
            frames = torch.cat([model.decode(latents[:, :, t : t + 1]) for t in range(5)], 2)
            torch.testing.assert_close(model.decode(latents), frames, rtol=0, atol=1e-5)
        else:
            changed = video.clone()
            changed[:, :, 1] = make_video(1, 1, 16, 16, seed=3)[:, :, 0]
            assert not torch.allclose(model.encoder(changed)[:, :, 1], latents[:, :, 1])


def test_time_kernel_is_validated(make_config):
    with pytest.raises(ValueError, match="time_kernel"):
        make_config("fsq", time_kernel=2)
