"""Median seconds of one tokenizer training step (forward, loss, backward, AdamW) at the
demo tokenizer's YAML, on random 8 x 3 x 64 x 64 clips, 1 thread. `c4`: with the 4x4-cell
overrides the main job applies (spatial compression 4, widths [64]).

    python benchmarks/experiments/tokenizer_step_speed.py c8|c4
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
import yaml

from arvideo.tokenizer import TokenizerConfig, VideoTokenizer
from arvideo.tokenizer.losses import TokenizerLoss, TokenizerLossConfig


def step_seconds(cells: str, steps: int = 10) -> float:
    args = yaml.safe_load(open("configs/demo/tokenizer.yaml"))["model"]["init_args"]
    config = dict(args["tokenizer"])
    if cells == "c4":
        config.update(spatial_compression=4, widths=[64])
    torch.manual_seed(0)
    tokenizer = VideoTokenizer(TokenizerConfig.from_dict(config))
    loss = TokenizerLoss(TokenizerLossConfig(**args["loss"]), None)
    video = torch.rand(8, 3, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    optimizer = torch.optim.AdamW(tokenizer.parameters(), lr=1e-4)

    def step(index: int) -> None:
        out = tokenizer(video)
        total = loss.generator_loss(video, out, index, tokenizer.decoder.last_layer_weight).loss
        optimizer.zero_grad()
        total.backward()
        optimizer.step()

    for index in range(3):  # warm-up
        step(index)
    times = []
    for index in range(steps):
        start = time.perf_counter()
        step(index)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(f"{sys.argv[1]}: median step {step_seconds(sys.argv[1]):.4f} s")
