"""A tiny world model trained on real Pong tokens: it must beat the unigram baseline, and
its export must load through the public API."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch

from arvideo.data.datamodule import TokenDataModule
from arvideo.lm.model import VideoLMConfig
from arvideo.training.generator_module import GeneratorModule, lm_config_for
from arvideo.training.optim import OptimizerConfig


def _tokens(loader) -> torch.Tensor:
    return torch.cat([batch.codes.reshape(-1) for batch in loader]).long()


def unigram_cross_entropy(train: torch.Tensor, val: torch.Tensor, vocab: int) -> float:
    """Cross-entropy (nats) of val codes under the add-one smoothed train histogram."""
    counts = torch.bincount(train, minlength=vocab).double() + 1.0
    log_probs = (counts / counts.sum()).log()
    return float(-log_probs[val].mean())


@pytest.mark.slow
def test_tiny_world_model_beats_unigram_on_real_pong(pong_tokens, quiet_trainer, tmp_path):
    data = TokenDataModule(path=str(pong_tokens), batch_size=8, num_frames=4, seed=0)
    lm = VideoLMConfig(order="next_block", width=48, depth=2, heads=2)
    module = GeneratorModule(
        str(pong_tokens), lm, num_frames=4, optimizer=OptimizerConfig(lr=3e-3, warmup_steps=10)
    )
    vocab = module.model.config.vocab_size
    baseline = unigram_cross_entropy(
        _tokens(data.loader("train")), _tokens(data.loader("val")), vocab
    )
    L.seed_everything(0)
    quiet_trainer(200, tmp_path, checkpointing=True).fit(module, datamodule=data)
    module.eval()
    with torch.no_grad():
        losses = [module.model.loss(batch).loss for batch in data.loader("val")]
    val_loss = float(torch.stack(losses).mean())
    print(f"validation {val_loss:.3f} nats/token vs unigram baseline {baseline:.3f}")
    assert math.isfinite(val_loss)
    assert val_loss < 0.9 * baseline, (val_loss, baseline)


@pytest.mark.slow
def test_tiny_diffusion_world_model_lowers_held_out_flow_loss(
    pong_token_sets, quiet_trainer, tmp_path
):
    path = str(pong_token_sets["continuous"])  # real Pong latents of a continuous tokenizer
    data = TokenDataModule(path=path, batch_size=8, num_frames=4, seed=0)
    lm = VideoLMConfig(order="next_block", head="diffusion", width=48, depth=2, heads=2)
    module = GeneratorModule(
        path, lm, num_frames=4, optimizer=OptimizerConfig(lr=3e-3, warmup_steps=10)
    )

    def held_out_loss() -> float:  # the same noise and times before and after training
        module.eval()
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            losses = [module.model.loss(b, generator).loss for b in data.loader("val")]
        module.train()
        return float(torch.stack(losses).mean())

    before = held_out_loss()
    L.seed_everything(0)
    quiet_trainer(100, tmp_path, checkpointing=True).fit(module, datamodule=data)
    after = held_out_loss()
    print(f"held-out flow-matching loss {before:.3f} -> {after:.3f}")
    assert after < 0.7 * before, (before, after)


def test_lm_sizes_come_from_the_data(pong_tokens):
    config = lm_config_for(pong_tokens, VideoLMConfig(width=32, depth=1, heads=2), num_frames=4)
    assert config.vocab_size == 5 * 4 * 3  # the tiny tokenizer's FSQ levels
    assert config.grid == (4, 8, 8)
    assert config.num_actions == 6  # Pong
    with pytest.raises(ValueError, match="vocab_size"):
        lm_config_for(pong_tokens, VideoLMConfig(vocab_size=7))
    with pytest.raises(ValueError, match="diffusion"):
        lm_config_for(pong_tokens, VideoLMConfig(head="diffusion", latent_dim=3))
