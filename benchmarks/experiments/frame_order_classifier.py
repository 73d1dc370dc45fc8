"""Held-out accuracy of the paradigm bench's frame-order classifier on real Pong.

usage: frame_order_classifier.py [--data DIR] [--seeds 0,1,2] [--out FILE.md]

Windows as `arvideo bench paradigms --budget full` cuts them (16 frames: 300 training
windows, evenly spaced at stride 8, from the train episodes; the held-out windows are every
16 frames of the val episodes), then the classifier with the full budget's settings and the
variants that chose them: pairs ("forward or reversed?") against triples (a neighbour
swap), and the gain on the frame differences. Each row is trained per seed (initialisation,
batches, swaps); accuracy is over every held-out run in both orders (chance 0.50).
Then, with the full budget's classifier (first seed), order FD against the last 12 frames of
half the held-out windows (as the bench scores a 4 + 12 rollout) for: the other half (real
frames: the floor), copying the last context frame, the same frames shuffled in time, and
the same frames played backwards.
Writes the markdown table to --out (default benchmarks/results/frame_order_classifier.md).
"""

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from arvideo.bench.paradigms.budget import budget_preset
from arvideo.bench.paradigms.episodes import evenly_spaced, load_episodes, training_windows
from arvideo.bench.paradigms.frame_order import FrameOrderNet, order_fd, train_classifier
from arvideo.bench.paradigms.rollout_eval import copy_last_frame

WINDOW = 16  # context 4 + horizon 12, the full budget's windows
CONTEXT = 4


def windows(data: str, max_train: int):
    train = training_windows(load_episodes(data, "train"), WINDOW, WINDOW // 2)
    held_out = training_windows(load_episodes(data, "val"), WINDOW, WINDOW)
    return evenly_spaced(train, max_train).video_BCTHW, held_out.video_BCTHW


def distance_rows(net: FrameOrderNet, held_out: torch.Tensor, seed: int) -> list[str]:
    """Order FD of made-up rollouts against the truth of half the held-out windows."""
    half = len(held_out) // 2
    truth, other = held_out[:half, :, CONTEXT:], held_out[half : 2 * half, :, CONTEXT:]
    horizon = truth.shape[2]
    generator = torch.Generator().manual_seed(seed)
    shuffled = torch.stack([w[:, torch.randperm(horizon, generator=generator)] for w in truth])
    candidates = {
        "other real windows (the floor)": other,
        "copy the last context frame": copy_last_frame(held_out[:half, :, :CONTEXT], horizon),
        "the truth shuffled in time": shuffled,
        "the truth played backwards": truth.flip(2),
    }
    rows = [f"\n{half} windows of {horizon} frames as the truth.\n",
            "| rollout | order FD ↓ |", "|---|---|"]  # fmt: skip
    rows += [f"| {name} | {order_fd(net, truth, fake):.2f} |" for name, fake in candidates.items()]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/pong")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", default="benchmarks/results/frame_order_classifier.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    preset = budget_preset("full")
    train, held_out = windows(args.data, preset.max_train_windows)
    full = preset.classifier
    variants = {
        "triples, gain 4 (the full budget)": full,
        "triples, gain 1": replace(full, difference_gain=1.0),
        "pairs, gain 4": replace(full, frames=2),
    }
    lines = [
        f"# Frame-order classifier on real Pong\n\nCommand: `{' '.join(sys.argv)}` "
        f"(OMP_NUM_THREADS=1, one torch thread)\n\nData: {args.data}, {len(train)} training "
        f"windows, {len(held_out)} held-out windows of {WINDOW} frames (val episodes); "
        f"{full.steps} steps, batch {full.batch_size}, width {full.width}.\n",
        "| variant | held-out accuracy per seed | mean | chance | train acc (mean) | s per run |",
        "|---|---|---|---|---|---|",
    ]
    seeds = [int(s) for s in args.seeds.split(",")]
    nets = {}
    for name, config in variants.items():
        accuracies, train_accuracies, start = [], [], time.time()
        for seed in seeds:
            trained = train_classifier(train, held_out, config, torch.Generator().manual_seed(seed))
            nets.setdefault(name, trained.net)
            accuracies.append(trained.held_out_accuracy)
            train_accuracies.append(trained.train_accuracy)
        per_run = (time.time() - start) / len(accuracies)
        lines.append(
            f"| {name} | {', '.join(f'{a:.3f}' for a in accuracies)} | "
            f"{np.mean(accuracies):.3f} | {trained.chance:.2f} | "
            f"{np.mean(train_accuracies):.3f} | {per_run:.0f} |"
        )
        print(lines[-1], flush=True)
    lines += distance_rows(nets[next(iter(variants))], held_out, seeds[0])
    print("\n".join(lines[-6:]), flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
