"""A tiny Diffusion Forcing model (the backbone as denoiser, issue 15) on real Pong latents
lowers its held-out flow loss, and samples a finite rollout after training."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from arvideo.data.datamodule import TokenDataModule
from arvideo.lm.conditioning import Conditions
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.model import VideoLMConfig
from arvideo.training.generator_module import GeneratorModule
from arvideo.training.optim import OptimizerConfig


@pytest.mark.slow
def test_tiny_diffusion_forcing_model_lowers_held_out_flow_loss(
    pong_token_sets, quiet_trainer, tmp_path
):
    path = str(pong_token_sets["continuous"])  # real Pong latents of a continuous tokenizer
    data = TokenDataModule(path=path, batch_size=8, num_frames=4, seed=0)
    lm = VideoLMConfig(order="diffusion_forcing", head="velocity", width=48, depth=2, heads=2)
    module = GeneratorModule(
        path, lm, num_frames=4, optimizer=OptimizerConfig(lr=3e-3, warmup_steps=10)
    )

    def held_out_loss() -> float:  # the same noise and levels before and after training
        module.eval()
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            losses = [module.model.loss(b, generator).loss for b in data.loader("val")]
        module.train()
        return float(torch.stack(losses).mean())

    before = held_out_loss()
    L.seed_everything(0)
    quiet_trainer(100, tmp_path).fit(module, datamodule=data)
    after = held_out_loss()
    print(f"held-out flow loss (diffusion forcing) {before:.3f} -> {after:.3f}")
    assert after < 0.7 * before, (before, after)

    batch = next(iter(data.loader("val")))
    settings = SamplingSettings(steps=2, schedule="autoregressive", stabilization=0.05)
    out = module.model.generate(
        batch.latents[:, :1], Conditions(actions_BT=batch.actions), 4, settings,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert out.values.shape == batch.latents.shape and torch.isfinite(out.values).all()
