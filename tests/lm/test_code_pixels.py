"""Code embeddings that also read each code's decoded pixels (`lm.code_pixels`)."""

from __future__ import annotations

import pytest
import torch

from arvideo.lm.embeddings import CodeEmbedding
from arvideo.lm.model import VideoLM, VideoLMConfig


def test_pixels_set_codes_apart_that_the_table_does_not():
    embed = CodeEmbedding(vocab_size=3, width=8, pixel_dim=4)
    with torch.no_grad():
        embed.tables[0].weight.zero_()  # the table cannot tell the codes apart
        embed.pixel_proj.weight.normal_(generator=torch.Generator().manual_seed(0))
    pixels = torch.tensor([[0.0] * 4, [1.0, 0, 0, 0], [1.0, 0, 0, 0]])
    embed.set_pixels(pixels)
    out = embed(torch.tensor([[0, 1, 2]]))
    assert torch.equal(out[0, 0], torch.zeros(8))  # blank patch: nothing added
    assert torch.equal(out[0, 1], out[0, 2])  # the same look, the same input
    assert torch.allclose(out[0, 1], embed.pixel_proj.weight[:, 0])
    assert torch.equal(embed(torch.tensor([[[0], [1], [2]]])), out)  # codes B×N×1 alike


def test_pixels_are_saved_with_the_weights():
    embed = CodeEmbedding(vocab_size=3, width=8, pixel_dim=2)
    embed.set_pixels(torch.arange(6.0).view(3, 2))
    again = CodeEmbedding(vocab_size=3, width=8, pixel_dim=2)
    again.load_state_dict(embed.state_dict())
    assert torch.equal(again.pixels_KP, torch.arange(6.0).view(3, 2))


def test_bad_pixels_name_the_shape():
    embed = CodeEmbedding(vocab_size=3, width=8, pixel_dim=2)
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        embed.set_pixels(torch.zeros(3, 5))
    with pytest.raises(TypeError, match="pixel_dim=0"):
        CodeEmbedding(vocab_size=3, width=8).set_pixels(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="depth"):
        CodeEmbedding(vocab_size=3, width=8, depth=2, pixel_dim=2)


def test_config_refuses_code_pixels_where_nothing_embeds_plain_codes():
    with pytest.raises(ValueError, match="code_pixels"):
        VideoLMConfig(head="diffusion", latent_dim=4, code_pixels=True)
    with pytest.raises(ValueError, match="code_pixels"):
        VideoLMConfig(code_depth=2, code_pixels=True)
    small = dict(width=16, depth=1, heads=2, vocab_size=5, grid=(2, 2, 2))
    with pytest.raises(ValueError, match="code_pixel_dim"):  # the trainer fills it in
        VideoLM(VideoLMConfig(**small, code_pixels=True))
    model = VideoLM(VideoLMConfig(**small, code_pixels=True, code_pixel_dim=3))
    assert model.embed.pixels_KP.shape == (5, 3)
