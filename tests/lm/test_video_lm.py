"""VideoLM end to end: persistence, cached vs uncached sampling, text-prefix tokens with
padding, residual-VQ codes, input errors, and a tiny model that learns."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from arvideo.data.batch import TokenBatch
from arvideo.lm.conditioning import ConditionEmbedding, Conditions
from arvideo.lm.model import VideoLM, VideoLMConfig


def test_save_and_load_round_trip(tmp_path, make_model, make_batch, generator):
    model = make_model(order="next_block", refine=True, num_actions=3, window_frames=2)
    model.save_pretrained(tmp_path / "lm")
    loaded = VideoLM.from_pretrained(tmp_path / "lm").eval()
    assert loaded.config == model.config
    batch = make_batch(model)
    loss = model.loss(batch, torch.Generator().manual_seed(0)).loss
    torch.testing.assert_close(loaded.loss(batch, torch.Generator().manual_seed(0)).loss, loss)
    config_file = tmp_path / "lm" / "config.json"
    text = config_file.read_text()
    assert '"vocab_size": 11' in text
    config_file.write_text(text.replace('"vocab_size": 11', '"vocab_size": 12'))
    with pytest.raises(RuntimeError):  # strict: shapes must match the saved weights
        VideoLM.from_pretrained(tmp_path / "lm")


@pytest.mark.parametrize("order", ["next_token", "next_block"])
def test_cached_and_uncached_sampling_agree(make_model, make_batch, order):
    model = make_model(order=order, num_actions=3)
    batch = make_batch(model)
    conditions = Conditions(actions_BT=batch.actions)
    runs = [
        model.generate(
            None,
            conditions,
            3,
            cfg_scale=2.0,
            cfg_schedule="linear",
            batch_size=2,
            generator=torch.Generator().manual_seed(5),
            use_cache=use_cache,
        )  # fmt: skip
        for use_cache in (True, False)
    ]
    assert torch.equal(runs[0].values, runs[1].values)
    assert runs[0].forward_passes == runs[1].forward_passes
    torch.testing.assert_close(runs[0].z_BND, runs[1].z_BND, atol=1e-5, rtol=1e-4)


class PrefixConditioner(nn.Module):
    """Stands in for a text conditioner: 3 prefix tokens, the last one padding for sample 0."""

    def __init__(self, width: int):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.frame = nn.Parameter(torch.randn(1, 8, width, generator=g))
        self.prefix = nn.Parameter(torch.randn(2, 3, width, generator=g))

    def used(self, conditions):  # the Conditioner interface: it reads no condition
        return conditions

    def forward(self, conditions, num_frames, drop_all=False, generator=None, batch_size=None):
        mask = torch.tensor([[True, True, False], [True, True, True]])
        prefix = self.prefix * (0.0 if drop_all else 1.0)
        return ConditionEmbedding(self.frame[:, :num_frames] * (not drop_all), prefix, mask)


def test_prefix_tokens_with_padding_cached_equals_full(make_model, make_batch, generator):
    model = make_model(order="next_block")
    model.conditioner = PrefixConditioner(model.config.width)
    context = make_batch(model).codes[:, :1]
    out = model.generate(context, None, 3, cfg_scale=2.0, generator=generator)
    z, _, _ = model.head_inputs(TokenBatch(codes=out.values))
    torch.testing.assert_close(out.z_BND, z, atol=1e-5, rtol=1e-4)
    model.conditioner.prefix.data[0, 2] += 100.0  # padding: must not matter
    z_pad, _, _ = model.head_inputs(TokenBatch(codes=out.values))
    torch.testing.assert_close(z_pad, z)
    model.conditioner.prefix.data[0, 0] += 1.0  # a real prefix token: must matter
    assert not torch.allclose(model.head_inputs(TokenBatch(codes=out.values))[0], z)


def test_residual_vq_codes(make_model, make_batch, generator):
    model = make_model(order="next_token", code_depth=2)
    batch = make_batch(model)
    assert torch.isfinite(model.loss(batch, generator).loss)
    out = model.generate(batch.codes[:, :1], None, 2, generator=generator)
    assert out.values.shape == (2, 2, 2, 3, 2)


def test_errors_name_the_bad_argument(make_model, make_batch, generator):
    with pytest.raises(ValueError, match="latent_dim"):  # a trainer fills it from the data
        VideoLM(VideoLMConfig(head="diffusion", width=16, depth=1, heads=2))
    with pytest.raises(ValueError, match="grid"):
        VideoLMConfig(grid=(8, 8))
    with pytest.raises(ValueError, match="block_rows"):
        make_model(order="next_block", block_rows=4)
    model = make_model(order="next_block")
    with pytest.raises(ValueError, match="refine_steps"):
        model.generate(None, None, 2, refine_steps=2)
    with pytest.raises(ValueError, match="codes"):
        model.loss(TokenBatch(codes=None, latents=torch.zeros(1, 2, 2, 3, 4)))
    with pytest.raises(ValueError, match="context"):
        model.generate(make_batch(model).codes, None, 3)  # nothing left to generate


def test_a_tiny_model_learns_a_fixed_clip(make_batch):
    torch.manual_seed(0)
    config = VideoLMConfig(width=32, depth=2, heads=2, vocab_size=11, grid=(3, 2, 3))
    model = VideoLM(config)
    batch = make_batch(model, seed=1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(25):
        loss = model.loss(batch, generator).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_generate_ignores_training_mode_and_restores_it(make_model):
    model = make_model(order="next_block", num_actions=3, cond_dropout=1.0).train()
    conditions = Conditions(actions_BT=torch.tensor([[0, 1, 2]]))
    runs = [
        model.generate(None, conditions, 3, generator=torch.Generator().manual_seed(2)).z_BND
        for _ in range(2)
    ]
    assert model.training
    model.eval()
    reference = model.generate(None, conditions, 3, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(runs[0], reference.z_BND)  # no dropout while sampling
    torch.testing.assert_close(runs[1], reference.z_BND)


def test_blocks_of_two_frames(make_model, make_batch, generator):
    model = make_model(order="next_block", block_frames=2, grid=(4, 2, 3))
    batch = make_batch(model)
    assert model.order.layout(4).num_groups == 2
    assert torch.isfinite(model.loss(batch, generator).loss)
    out = model.generate(batch.codes[:, :2], None, 4, generator=generator)
    assert out.forward_passes == 2  # prefill + one block of two frames
    z, _, _ = model.head_inputs(TokenBatch(codes=out.values))
    torch.testing.assert_close(out.z_BND, z, atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="whole blocks"):
        model.generate(batch.codes[:, :1], None, 4)
