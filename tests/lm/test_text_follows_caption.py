"""A tiny text-conditioned model reads its caption: after a short training on prompt shapes,
its loss with the right caption is lower than with another clip's caption.

The clips are tokenized without a learned tokenizer (each 4×4-pixel cell becomes the palette
colour most of its pixels show, or background), so the test trains only the generator. The
caption names the colour of the object's cells and where they go next; a model that ignores
the text cannot tell them from the shuffled captions, whatever it learns.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvideo.data.batch import TokenBatch
from arvideo.data.prompt_factors import seen_combinations
from arvideo.data.prompt_shapes import Motion, draw_prompt_clip
from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.prompt_accuracy import PALETTE_C3, background_colour

SIZE, CELL, FRAMES = 32, 4, 2
GRID = SIZE // CELL
MOTION = Motion(min_radius=0.15, max_radius=0.2, min_speed=3.0, max_speed=5.0)


def cell_codes(frames_THWC: np.ndarray) -> np.ndarray:
    """T×GRID×GRID codes: 0 background, 1 + palette index of the cell's majority colour."""
    pixels = frames_THWC.astype(np.float32)
    foreground = np.linalg.norm(pixels - background_colour(frames_THWC), axis=-1) > 80
    nearest = np.linalg.norm(pixels[..., None, :] - PALETTE_C3, axis=-1).argmin(-1)
    classes = np.where(foreground, nearest + 1, 0)  # T×H×W
    cells = classes.reshape(FRAMES, GRID, CELL, GRID, CELL).transpose(0, 1, 3, 2, 4)
    counts = np.eye(len(PALETTE_C3) + 1)[cells.reshape(FRAMES, GRID, GRID, -1)].sum(-2)
    return counts.argmax(-1)


def prompt_batch(rng: np.random.Generator, size: int) -> TokenBatch:
    combinations = seen_combinations()
    clips = [draw_prompt_clip(rng, combinations[int(i)], SIZE, FRAMES, MOTION)
             for i in rng.integers(len(combinations), size=size)]  # fmt: skip
    codes = torch.from_numpy(np.stack([cell_codes(c.frames_THWC) for c in clips]))
    return TokenBatch(codes=codes.long(), captions=[c.caption for c in clips])


@pytest.mark.slow
def test_loss_is_lower_with_the_right_caption():
    torch.manual_seed(0)  # the model's initial weights
    config = VideoLMConfig(
        width=64, depth=2, heads=4, order="next_block", head="categorical",
        vocab_size=len(PALETTE_C3) + 1, grid=(FRAMES, GRID, GRID), text_encoder="default",
        cond_dropout=0.0,
    )  # fmt: skip
    model = VideoLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng, generator = np.random.default_rng(0), torch.Generator().manual_seed(0)
    for _ in range(80):
        loss = model.loss(prompt_batch(rng, 32), generator).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    held_out = prompt_batch(np.random.default_rng(1), 256)
    order = torch.randperm(256, generator=generator).tolist()
    shuffled = TokenBatch(codes=held_out.codes, captions=[held_out.captions[i] for i in order])
    model.eval()
    with torch.no_grad():
        right = model.loss(held_out, torch.Generator().manual_seed(1)).loss.item()
        wrong = model.loss(shuffled, torch.Generator().manual_seed(1)).loss.item()
    print(f"loss with the right caption {right:.4f}, shuffled {wrong:.4f}")
    assert right < wrong - 0.1, (right, wrong)  # measured: 0.19 vs 0.49 (seed 0)
