"""The optimizer recipe: which parameters decay, and the warm-up + cosine schedule."""

import pytest
import torch

from arvideo.tokenizer import TokenizerConfig, VideoTokenizer
from arvideo.tokenizer.config import BottleneckConfig
from arvideo.training.optim import OptimizerConfig, build_optimizer, lr_factor


def _decayed_names(module: torch.nn.Module) -> set[str]:
    optimizer, _ = build_optimizer(module, OptimizerConfig(weight_decay=0.1), max_steps=10)
    decayed = {id(p) for g in optimizer.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    return {name for name, p in module.named_parameters() if id(p) in decayed}


def test_codebooks_embeddings_norms_and_biases_do_not_decay():
    config = TokenizerConfig(
        widths=(8, 16, 16), latent_dim=4, norm_groups=4, spatial_compression=4,
        bottleneck=BottleneckConfig(kind="msvq", codebook_size=16, scales=(1, 2)),
    )  # fmt: skip
    names = _decayed_names(VideoTokenizer(config))
    assert names, "conv weights should decay"
    assert not [n for n in names if "codebook" in n or n.endswith("bias") or "norm" in n]
    assert any("conv" in n and n.endswith("weight") for n in names)


def test_embedding_excluded_linear_included():
    module = torch.nn.ModuleDict({"embed": torch.nn.Embedding(5, 3), "proj": torch.nn.Linear(3, 3)})
    assert _decayed_names(module) == {"proj.weight"}


@pytest.mark.parametrize("step, expected", [(0, 0.25), (3, 1.0), (100, 0.1)])
def test_schedule_warms_up_then_decays_to_floor(step, expected):
    factor = lr_factor(step, warmup_steps=4, max_steps=100, min_lr_ratio=0.1)
    assert factor == pytest.approx(expected)
