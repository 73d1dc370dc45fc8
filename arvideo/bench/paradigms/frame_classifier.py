"""A tiny inverse-dynamics classifier whose features score generated transitions.

The network sees two consecutive frames (6 channels) and predicts the action taken between
them; it is trained by the benchmark on real training frames. Its penultimate features of
(frame t, frame t+1) pairs feed a Fréchet distance between real and generated transitions:
"Fréchet inverse-dynamics distance" (FIDD). It is NOT FVD (no I3D, no pretrained network);
numbers compare paradigms within one run only. Knows torch; knows nothing about the models
that made the frames.
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
    steps: int = 50
    batch_size: int = 32
    lr: float = 2e-3


class InverseDynamicsNet(nn.Module):
    def __init__(self, num_actions: int, config: ClassifierConfig):
        super().__init__()
        w = config.width
        self.body = nn.Sequential(
            nn.Conv2d(6, w, 4, stride=2, padding=1), nn.SiLU(),  # 64 -> 32
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.SiLU(),  # -> 16
            nn.Conv2d(2 * w, 2 * w, 4, stride=2, padding=1), nn.SiLU(),  # -> 8
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),
            nn.Linear(2 * w * 16, config.features), nn.SiLU(),
        )  # fmt: skip
        self.classify = nn.Linear(config.features, max(num_actions, 1))

    def features(self, pairs_B6HW: torch.Tensor) -> torch.Tensor:
        return self.body(pairs_B6HW)

    def forward(self, pairs_B6HW: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(pairs_B6HW))


def transition_pairs(video_BCTHW: torch.Tensor) -> torch.Tensor:
    """Consecutive frames stacked on channels: B×C×T×H×W -> (B·(T-1))×2C×H×W."""
    if video_BCTHW.ndim != 5 or video_BCTHW.shape[2] < 2:
        raise ValueError(f"video_BCTHW must be B×C×T×H×W with T >= 2, got {video_BCTHW.shape}")
    pairs = torch.cat([video_BCTHW[:, :, :-1], video_BCTHW[:, :, 1:]], dim=1)
    return pairs.permute(0, 2, 1, 3, 4).flatten(0, 1).float().clamp(-1, 1)


@dataclass
class TrainedClassifier:
    net: InverseDynamicsNet  # eval mode
    train_accuracy: float  # on the last batches; chance is 1 / num_actions
    steps: int


def train_classifier(
    video_BCTHW: torch.Tensor,
    actions_BT: torch.Tensor,
    num_actions: int,
    config: ClassifierConfig,
    generator: torch.Generator,
) -> TrainedClassifier:
    """Fit on every transition of the given real clips (action t leads from t to t+1)."""
    pairs = transition_pairs(video_BCTHW)
    labels = actions_BT[:, : video_BCTHW.shape[2] - 1].flatten().long()
    torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))  # init only
    net = InverseDynamicsNet(num_actions, config)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr)
    correct, seen = 0, 0
    for step in range(config.steps):
        index = torch.randint(len(pairs), (config.batch_size,), generator=generator)
        logits = net(pairs[index])
        loss = nn.functional.cross_entropy(logits, labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step >= config.steps // 2:
            correct += int((logits.argmax(-1) == labels[index]).sum())
            seen += len(index)
    return TrainedClassifier(net.eval().requires_grad_(False), correct / max(seen, 1), config.steps)


@torch.no_grad()
def transition_features(net: InverseDynamicsNet, video_BCTHW: torch.Tensor) -> torch.Tensor:
    return net.features(transition_pairs(video_BCTHW))


def fidd(net: InverseDynamicsNet, real_BCTHW: torch.Tensor, fake_BCTHW: torch.Tensor) -> float:
    """Fréchet distance between the classifier features of real and generated transitions,
    in units of the real features' spread: each feature is standardised by the real set's
    mean and std (features constant on the real set are dropped), so the number does not
    depend on how large a briefly trained network's activations happen to be."""
    real = transition_features(net, real_BCTHW).double()
    fake = transition_features(net, fake_BCTHW).double()
    mean, std = real.mean(0), real.std(0)
    alive = std > 1e-6 * std.max().clamp_min(1e-30)
    real, fake = [(x[:, alive] - mean[alive]) / std[alive] for x in (real, fake)]
    distance = frechet_distance(real, fake)
    return max(distance, 0.0)  # round-off can leave a tiny negative for identical sets
