"""A tiny frame-order classifier whose features score generated motion.

Task: given `frames` consecutive frames, are they in their true order, or were two
neighbours swapped? It needs no actions, RAM or colours, so it works on every game, and it
can only be solved by seeing motion: in order, the object moves the same way between each
pair of frames; after a swap it jumps back and forth. That coherence is what a world model
must get right. It cannot tell a clip played backwards (pairs, "forward or reversed?", stay
at chance on Pong: its motion looks just as plausible backwards); it does tell frozen and
jumbled frames (benchmarks/results/frame_order_classifier.md).

The network sees only the differences of neighbouring frames. Trained by the benchmark on
real training windows, scored on held-out episodes; its penultimate features of runs of
real and of generated frames (in their given order) feed a Fréchet distance, "order FD". It
is NOT FVD (no I3D, no pretrained network): numbers compare paradigms within one run only.
Knows torch; knows nothing about the models that made the frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from arvideo.metrics import frechet_distance


@dataclass
class ClassifierConfig:
    width: int = 16
    features: int = 32  # penultimate width = dimension of the Fréchet features
    steps: int = 200
    batch_size: int = 32
    lr: float = 2e-3
    frames: int = 3  # frames per example; 2 is "forward or reversed?"
    # frame differences are sparse and faint (a ball is a pixel or two): at gain 1 one seed
    # in three was still at chance after 200 steps on Pong, at 4 none was
    difference_gain: float = 4.0

    def __post_init__(self):
        if self.frames < 2:
            raise ValueError(f"frames must be >= 2 (an order needs two), got {self.frames}")


class FrameOrderNet(nn.Module):
    """B×F×C×H×W runs of frames -> logits of (swapped, in order)."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        w, self.gain, self.frames = config.width, config.difference_gain, config.frames
        self.body = nn.Sequential(
            nn.Conv2d(3 * (config.frames - 1), w, 4, stride=2, padding=1), nn.SiLU(),  # -> 32
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.SiLU(),  # -> 16
            nn.Conv2d(2 * w, 2 * w, 4, stride=2, padding=1), nn.SiLU(),  # -> 8
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),
            nn.Linear(2 * w * 16, config.features), nn.SiLU(),
        )  # fmt: skip
        self.classify = nn.Linear(config.features, 2)

    def features(self, runs_BFCHW: torch.Tensor) -> torch.Tensor:
        differences = runs_BFCHW[:, 1:] - runs_BFCHW[:, :-1]
        return self.body(self.gain * differences.flatten(1, 2))

    def forward(self, runs_BFCHW: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(runs_BFCHW))


@dataclass
class RunIndex:
    """Where every run of `frames` consecutive frames starts: window and frame index."""

    window: torch.Tensor  # int64, one per run
    start: torch.Tensor
    frames: int

    def __len__(self) -> int:
        return len(self.window)


def run_index(video_BCTHW: torch.Tensor, frames: int) -> RunIndex:
    if video_BCTHW.ndim != 5 or video_BCTHW.shape[2] < frames:
        raise ValueError(
            f"video_BCTHW must be B×C×T×H×W with T >= {frames} (frames per run), "
            f"got {tuple(video_BCTHW.shape)}"
        )
    B, T = video_BCTHW.shape[0], video_BCTHW.shape[2]
    window, start = torch.meshgrid(torch.arange(B), torch.arange(T - frames + 1), indexing="ij")
    return RunIndex(window.flatten(), start.flatten(), frames)


def gather_runs(video_BCTHW: torch.Tensor, index: RunIndex, pick: torch.Tensor) -> torch.Tensor:
    """The runs `pick` of `index` as N×F×C×H×W float in [-1, 1] (gathered, never all at
    once: every run of 300 training windows would take ~0.6 GB)."""
    window, start = index.window[pick], index.start[pick]
    frames = [video_BCTHW[window, :, start + f] for f in range(index.frames)]
    return torch.stack(frames, dim=1).float().clamp(-1, 1)


def swap_neighbours(runs_BFCHW: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each run with one random pair of neighbouring frames swapped."""
    B, F = runs_BFCHW.shape[:2]
    first = torch.randint(F - 1, (B,), generator=generator)
    order = torch.arange(F).repeat(B, 1)
    rows = torch.arange(B)
    order[rows, first], order[rows, first + 1] = first + 1, first
    return runs_BFCHW[rows[:, None], order]


@dataclass
class OrderExamples:
    runs_BFCHW: torch.Tensor
    in_order_B: torch.Tensor  # int64: 1 = true order, 0 = a neighbour swap


def half_swapped(runs_BFCHW: torch.Tensor, generator: torch.Generator) -> OrderExamples:
    """A training batch: each run kept or swapped with probability 1/2."""
    in_order = torch.randint(2, (len(runs_BFCHW),), generator=generator)
    runs, swap = runs_BFCHW.clone(), in_order == 0
    runs[swap] = swap_neighbours(runs_BFCHW[swap], generator)
    return OrderExamples(runs, in_order)


def both_orders(runs_BFCHW: torch.Tensor, generator: torch.Generator) -> OrderExamples:
    """An evaluation batch: every run once in order and once swapped, so chance is 1/2."""
    swapped = swap_neighbours(runs_BFCHW, generator)
    labels = torch.cat([torch.ones(len(runs_BFCHW)), torch.zeros(len(runs_BFCHW))]).long()
    return OrderExamples(torch.cat([runs_BFCHW, swapped]), labels)


@dataclass
class TrainedClassifier:
    net: FrameOrderNet  # eval mode
    held_out_accuracy: float  # every held-out run in both orders: chance is `chance`
    held_out_examples: int
    train_accuracy: float  # on the second half of the training batches
    steps: int
    chance: float = 0.5


def train_classifier(
    train_BCTHW: torch.Tensor,
    held_out_BCTHW: torch.Tensor,
    config: ClassifierConfig,
    generator: torch.Generator,
) -> TrainedClassifier:
    """Fit on runs of the real training windows, then score every run of the held-out ones."""
    index = run_index(train_BCTHW, config.frames)
    torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))  # init only
    net = FrameOrderNet(config)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr)
    correct, seen = 0, 0
    for step in range(config.steps):
        pick = torch.randint(len(index), (config.batch_size,), generator=generator)
        batch = half_swapped(gather_runs(train_BCTHW, index, pick), generator)
        logits = net(batch.runs_BFCHW)
        loss = nn.functional.cross_entropy(logits, batch.in_order_B)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step >= config.steps // 2:
            correct += int((logits.argmax(-1) == batch.in_order_B).sum())
            seen += len(pick)
    net = net.eval().requires_grad_(False)
    accuracy = held_out_accuracy(net, held_out_BCTHW, generator)
    return TrainedClassifier(
        net, accuracy.value, accuracy.examples, correct / max(seen, 1), config.steps
    )


@dataclass
class Accuracy:
    value: float
    examples: int


@torch.no_grad()
def held_out_accuracy(
    net: FrameOrderNet, video_BCTHW: torch.Tensor, generator: torch.Generator, chunk: int = 256
) -> Accuracy:
    """Accuracy over every run of `video_BCTHW`, each in order and swapped (chance 1/2)."""
    index = run_index(video_BCTHW, net.frames)
    correct = 0
    for first in range(0, len(index), chunk):
        pick = torch.arange(first, min(first + chunk, len(index)))
        batch = both_orders(gather_runs(video_BCTHW, index, pick), generator)
        correct += int((net(batch.runs_BFCHW).argmax(-1) == batch.in_order_B).sum())
    return Accuracy(correct / (2 * len(index)), 2 * len(index))


@torch.no_grad()
def order_features(net: FrameOrderNet, video_BCTHW: torch.Tensor) -> torch.Tensor:
    """Penultimate features of every run of consecutive frames, in the order given."""
    index = run_index(video_BCTHW, net.frames)
    return net.features(gather_runs(video_BCTHW, index, torch.arange(len(index))))


def order_fd(net: FrameOrderNet, real_BCTHW: torch.Tensor, fake_BCTHW: torch.Tensor) -> float:
    """Fréchet distance between the classifier features of real and generated runs of
    frames, in units of the real features' spread: each feature is standardised by the real
    set's mean and std (features constant on the real set are dropped), so the number does
    not depend on how large a briefly trained network's activations happen to be."""
    real = order_features(net, real_BCTHW).double()
    fake = order_features(net, fake_BCTHW).double()
    mean, std = real.mean(0), real.std(0)
    alive = std > 1e-6 * std.max().clamp_min(1e-30)
    real, fake = [(x[:, alive] - mean[alive]) / std[alive] for x in (real, fake)]
    distance = frechet_distance(real, fake)
    return max(distance, 0.0)  # round-off can leave a tiny negative for identical sets
