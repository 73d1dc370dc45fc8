"""A tiny world model learns what changes, not only that most of the frame stays.

Copying the last frame scores perfectly on still cells and cannot score at all where a cell's
code changes, so the test looks only at changed cells: there the trained model's
cross-entropy must beat the best guess that ignores the context, the histogram of the codes
that changed cells take in the training clips. The tokens come from a cell-local encoder
(random weights), whose codes are a fixed function of each cell's own pixels: a still cell
keeps its code by construction, as with the main job's tokenizer.
"""

from __future__ import annotations

import lightning as L
import pytest
import torch

from arvideo.data.datamodule import TokenDataModule
from arvideo.lm.model import VideoLMConfig
from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer
from arvideo.training.generator_module import GeneratorModule
from arvideo.training.optim import OptimizerConfig


@pytest.fixture(scope="module")
def stable_pong_tokens(pong_dir, tmp_path_factory):
    """The Pong clips as FSQ codes of a cell-local encoder: 8×8 cells, a code per cell."""
    from arvideo.training.encode import encode

    root = tmp_path_factory.mktemp("stable-tokens")
    torch.manual_seed(0)
    config = TokenizerConfig(
        widths=(8, 8, 8, 8),
        latent_dim=4,
        encoder="cell",
        cell_width=32,
        cell_blocks=1,
        bottleneck=BottleneckConfig(kind="fsq", fsq_levels=(8, 5, 5, 5)),
    )
    VideoTokenizer(config).eval().save_pretrained(root / "tokenizer")
    encode(
        tokenizer=str(root / "tokenizer"),
        data=str(pong_dir),
        out=str(root / "tokens"),
        progress=False,
    )
    return root / "tokens"


def changed_BN(codes_BTHW: torch.Tensor, model) -> torch.Tensor:
    """Positions (in the order's flat layout) whose code differs from the frame before."""
    changed = torch.zeros_like(codes_BTHW, dtype=torch.long)
    changed[:, 1:] = (codes_BTHW[:, 1:] != codes_BTHW[:, :-1]).long()
    return model.order.flatten(changed).bool()


def changed_codes(loader, model) -> torch.Tensor:
    parts = []
    for batch in loader:
        values = model.order.flatten(batch.codes.long())
        parts.append(values[changed_BN(batch.codes, model)])
    return torch.cat(parts)


def model_changed_cross_entropy(model, loader) -> float:
    """Mean nats on changed positions, each frame predicted whole from its history alone."""
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for batch in loader:
            values = model.order.flatten(batch.codes.long())
            hidden = torch.zeros(values.shape, dtype=torch.bool)
            z, target, _ = model.head_inputs(batch, reveal_BN=hidden)
            log_probs = model.head.logits(z).float().log_softmax(-1).reshape(*target.shape, -1)
            picked = log_probs.gather(-1, target[..., None])[..., 0]
            mask = changed_BN(batch.codes, model)
            total += float(-picked[mask].sum())
            count += int(mask.sum())
    return total / count


@pytest.mark.slow
def test_tiny_world_model_predicts_changed_cells_better_than_their_histogram(
    stable_pong_tokens, quiet_trainer, tmp_path
):
    path = str(stable_pong_tokens)
    data = TokenDataModule(path=path, batch_size=8, num_frames=4, seed=0)
    lm = VideoLMConfig(order="next_block", width=48, depth=2, heads=2)
    module = GeneratorModule(
        path, lm, num_frames=4, optimizer=OptimizerConfig(lr=3e-3, warmup_steps=10)
    )
    model, vocab = module.model, module.model.config.vocab_size
    train_changed = changed_codes(data.loader("train"), model)
    val_changed = changed_codes(data.loader("val"), model)
    assert len(val_changed) >= 50, "too few changed cells in the held-out clips to judge"
    counts = torch.bincount(train_changed, minlength=vocab).double() + 1.0
    histogram = float(-(counts / counts.sum()).log()[val_changed].mean())

    L.seed_everything(0)
    quiet_trainer(300, tmp_path, checkpointing=True).fit(module, datamodule=data)
    learned = model_changed_cross_entropy(model, data.loader("val"))
    print(
        f"changed cells: model {learned:.3f} nats vs their histogram {histogram:.3f} "
        f"({len(val_changed)} held-out changed cells)"
    )
    assert learned < 0.9 * histogram, (learned, histogram)
