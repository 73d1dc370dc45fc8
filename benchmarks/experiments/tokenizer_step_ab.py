"""Paired A/B of one tokenizer training step (forward, loss, backward, AdamW) at the demo
tokenizer's YAML: today's code against the same model and batch run the way 8b603c8 ran it
(the library's one-hot VQ codebook, the cell encoder's 1×1×1 Conv3d layers on B×C×T×H×W
with LayerNorm through transposed copies, torch.median over frames). Same weights, same
random 8 × 3 × 3 × 64 × 64 clips, 1 thread; rounds alternate the two, each round the median
of `steps` steps; prints the medians and the median of the per-round ratios.

    python benchmarks/experiments/tokenizer_step_ab.py c8|c4|<tokenizer YAML> [rounds]

c8 is configs/demo/tokenizer.yaml as is, c4 with the 4x4-cell overrides the main job applies
(spatial compression 4, widths [64]).
"""

from __future__ import annotations

import statistics
import sys
import time
from contextlib import contextmanager

import torch
import torch.nn.functional as F
import yaml
from vector_quantize_pytorch.vector_quantize_pytorch import Codebook

from arvideo.tokenizer import TokenizerConfig, VideoTokenizer, losses
from arvideo.tokenizer.cell_encoder import CellEncoder
from arvideo.tokenizer.indexed_codebook import IndexedCodebook
from arvideo.tokenizer.layers import space_to_depth
from arvideo.tokenizer.losses import TokenizerLoss, TokenizerLossConfig


def channels_first_cells(encoder: CellEncoder, video_BCTHW: torch.Tensor) -> torch.Tensor:
    """CellEncoder.forward as 8b603c8 ran it: the same weights, B×C×T×H×W throughout."""

    def norm(position_norm, x):
        return position_norm.norm(x.movedim(1, -1)).movedim(-1, 1)

    x = encoder.embed(space_to_depth(video_BCTHW, encoder.cell))
    for block in encoder.blocks:
        h = block.fc1(F.silu(norm(block.norm1, x)))
        x = x + block.fc2(F.silu(norm(block.norm2, h)))
    return encoder.out(F.silu(norm(encoder.norm_out, x)))


@contextmanager
def as_before(tokenizer: VideoTokenizer):
    codebooks = [m for m in tokenizer.modules() if isinstance(m, IndexedCodebook)]
    encoder, median = tokenizer.encoder, losses.temporal_median
    cells = isinstance(encoder, CellEncoder)
    for codebook in codebooks:
        codebook.__class__ = Codebook
    if cells:
        encoder.forward = lambda video: channels_first_cells(encoder, video)
    losses.temporal_median = lambda video: video.median(dim=2, keepdim=True).values
    try:
        yield
    finally:
        for codebook in codebooks:
            codebook.__class__ = IndexedCodebook
        if cells:
            del encoder.forward
        losses.temporal_median = median


def main(cells: str, rounds: int = 5, steps: int = 8) -> None:
    path = cells if cells.endswith(".yaml") else "configs/demo/tokenizer.yaml"
    args = yaml.safe_load(open(path))["model"]["init_args"]
    config = dict(args["tokenizer"])
    if cells == "c4":
        config.update(spatial_compression=4, widths=[64])
    torch.manual_seed(0)
    tokenizer = VideoTokenizer(TokenizerConfig.from_dict(config))
    loss = TokenizerLoss(TokenizerLossConfig(**args["loss"]), None)
    video = torch.rand(8, 3, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    optimizer = torch.optim.AdamW(tokenizer.parameters(), lr=1e-4)

    def step(index: int) -> float:
        start = time.perf_counter()
        out = tokenizer(video)
        total = loss.generator_loss(video, out, index, tokenizer.decoder.last_layer_weight).loss
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        return time.perf_counter() - start

    def phase(before: bool) -> float:
        if not before:
            return statistics.median(step(i) for i in range(steps))
        with as_before(tokenizer):
            return statistics.median(step(i) for i in range(steps))

    phase(True), phase(False)  # warm-up, and the k-means init
    old, new = [], []
    for _ in range(rounds):
        old.append(phase(True))
        new.append(phase(False))
    ratio = statistics.median(o / n for o, n in zip(old, new))
    print(
        f"{cells}: 8b603c8-style step {statistics.median(old):.4f} s, now "
        f"{statistics.median(new):.4f} s, speed-up x{ratio:.2f} (rounds: "
        + ", ".join(f"{o / n:.2f}" for o, n in zip(old, new))
        + ")"
    )


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
