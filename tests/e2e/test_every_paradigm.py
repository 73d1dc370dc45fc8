"""Every order × head, end to end on real Pong tokens: `arvideo fit` with the shipped debug
config for a few steps, `arvideo export`, then generation through `VideoGenerator`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arvideo import VideoGenerator
from arvideo.lm.heads import HEADS
from arvideo.lm.orders import ORDERS
from arvideo.training.cli import run_lightning_cli
from arvideo.training.generator_export import export_generator

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "lm"


def token_set(order: str, head: str) -> str:
    """The tiny Pong token set a pair trains on: latents, scale codes, or plain codes."""
    if HEADS[head].values == "latents":
        return "continuous"
    return "msvq" if ORDERS[order].needs_tokenizer_scales("codes") else "fsq"


# every registered pair: a new order or head is tested here once it ships a debug config
PARADIGMS = [
    (order, head, token_set(order, head))
    for order in ORDERS
    for head in HEADS
    if ORDERS[order].accepts(HEADS[head])
]


@pytest.mark.slow
@pytest.mark.parametrize("order,head,tokens", PARADIGMS, ids=[f"{o}-{h}" for o, h, _ in PARADIGMS])
def test_fit_export_generate(order, head, tokens, pong_token_sets, pong_dir, tmp_path):
    config = CONFIGS / f"debug_{order}_{head}.yaml"
    cli = run_lightning_cli(
        ["fit", "--config", str(config), "--data.init_args.path", str(pong_token_sets[tokens])]
        + ["--trainer.max_steps", "3", "--trainer.val_check_interval", "3"]
        + ["--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path)]
    )
    metrics = cli.trainer.callback_metrics
    assert np.isfinite(float(metrics["train/loss"])) and np.isfinite(float(metrics["val/loss"]))
    checkpoint = cli.trainer.checkpoint_callback.last_model_path
    model_dir = export_generator(checkpoint, str(tmp_path / "model"))

    generator = VideoGenerator.from_pretrained(model_dir)
    context = np.zeros((1, 64, 64, 3), dtype=np.uint8)
    context[:] = (144, 72, 17)  # Pong's background colour
    output = generator(context=context, actions=[2, 3], num_frames=2, seed=0, progress=False)
    assert output.video.shape == (1, 3, 64, 64, 3)
    assert output.video.dtype == np.uint8
    assert (output.video[0, 0] == context[0]).all() or output.context_frames == 1
