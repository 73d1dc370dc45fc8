"""The pixel-unshuffle stem / pixel-shuffle head (TokenizerConfig.patch_size)."""

import pytest
import torch

from arvideo.tokenizer import TokenizerConfig
from arvideo.tokenizer.layers import depth_to_space, space_to_depth


@pytest.mark.parametrize("patch", [1, 2, 4])
def test_space_to_depth_round_trip(patch, make_video):
    video = make_video(2, 3, 8, 16)
    folded = space_to_depth(video, patch)
    assert folded.shape == (2, 3 * patch * patch, 3, 8 // patch, 16 // patch)
    assert torch.equal(depth_to_space(folded, patch), video)
    if patch > 1:  # channel 0 of the folded grid is the top-left pixel of each patch
        assert torch.equal(folded[:, 0], video[:, 0, :, ::patch, ::patch])


@pytest.mark.parametrize(
    "patch, spatial, widths, temporal",
    [(2, 8, (16, 16, 32), 1), (4, 8, (16, 32), 2), (4, 4, (32,), 1), (2, 16, (16, 16, 32, 32), 4)],
)
def test_stem_shapes_and_round_trip(patch, spatial, widths, temporal, make_tokenizer, make_video):
    model = make_tokenizer("fsq", temporal, spatial, patch_size=patch, widths=widths).eval()
    frames = 1 + 2 * temporal
    video = make_video(2, frames, 32, 16)
    with torch.no_grad():
        out = model.encode(video)
        recon = model.decode(out.latents)
    grid = model.latent_grid(frames, 32, 16)
    assert out.codes.shape == (2, grid.frames, 32 // spatial, 16 // spatial)
    assert recon.shape == video.shape
    assert model.encoder.conv_in.conv.in_channels == 3 * patch * patch
    assert model.decoder.conv_out.conv.out_channels == 3 * patch * patch


def test_stem_keeps_the_encoder_causal(make_tokenizer, make_video):
    model = make_tokenizer("continuous", 2, 8, patch_size=4, widths=(16, 32)).eval()
    video = make_video(1, 5, 16, 16)
    changed = video.clone()
    changed[:, :, 3] = make_video(1, 1, 16, 16, seed=3)[:, :, 0]
    with torch.no_grad():
        base, after = model.encoder(video), model.encoder(changed)
    assert torch.equal(base[:, :, :2], after[:, :, :2])  # latent 1 sees frames 1..2
    assert not torch.allclose(base[:, :, 2], after[:, :, 2])


def test_stem_is_cheaper_than_full_resolution_convs(make_tokenizer):
    full = make_tokenizer("fsq", 1, 8, widths=(16, 16, 32, 32))
    stem = make_tokenizer("fsq", 1, 8, patch_size=2, widths=(16, 32, 32))
    video = torch.zeros(1, 3, 1, 32, 32)

    def convolved_pixels(model):
        sizes = []
        hooks = [
            m.register_forward_hook(lambda m, i, o: sizes.append(o[0, 0].numel()))
            for m in model.modules()
            if isinstance(m, torch.nn.Conv3d)
        ]
        with torch.no_grad():
            model(video)
        for hook in hooks:
            hook.remove()
        return max(sizes)

    assert convolved_pixels(full) == 32 * 32 and convolved_pixels(stem) == 16 * 16


def test_patch_size_validation():
    with pytest.raises(ValueError, match="patch_size=3"):
        TokenizerConfig(patch_size=3)
    with pytest.raises(ValueError, match="patch_size=4"):
        TokenizerConfig(patch_size=4, spatial_compression=8, widths=(32, 64, 64))
    with pytest.raises(ValueError, match="temporal_compression=4"):
        TokenizerConfig(
            patch_size=4, spatial_compression=8, widths=(32, 64), temporal_compression=4
        )
    config = TokenizerConfig(patch_size=2, widths=(32, 64, 64))
    assert TokenizerConfig.from_dict(config.to_dict()) == config
