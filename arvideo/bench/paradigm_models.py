"""The models of the paradigm benchmark: three tokenizers and six generators, all trained
in memory through `arvideo.bench.training.train_module` (one recipe, one budget).

Tokenizers share one encoder/decoder architecture and differ only in the bottleneck:
single-scale VQ (next-token, next-block categorical), multi-scale residual VQ (msvq,
next-scale categorical) and continuous KL latents (every diffusion head). Generators share
one backbone size. Values a generator trains on: codes B×T×H×W (vq), codes B×T×L (msvq),
latents B×T×H×W×C, or, for next-scale diffusion, the residual pyramid B×T×L×C of those
latents (`LatentScales.decompose`). Knows the tokenizer and LM APIs; knows nothing about
metrics or reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import lightning as L
import torch

from arvideo.bench.episodes import Windows, sample_batch
from arvideo.bench.training import Budget, TrainedRun, train_module
from arvideo.data.batch import TokenBatch, VideoBatch
from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.tokenizer import VideoTokenizer
from arvideo.tokenizer.config import BottleneckConfig, TokenizerConfig
from arvideo.training.optim import OptimizerConfig, ScheduledAdamW
from arvideo.training.tokenizer_module import TokenizerModule

TokenizerKind = Literal["vq", "msvq", "continuous"]


@dataclass
class ModelSizes:
    """What one budget fixes for every paradigm (the comparison changes only the paradigm)."""

    tokenizer_widths: tuple[int, ...] = (16, 16, 32, 32)  # 64×64 -> 8×8, stride 2 per width
    latent_dim: int = 4
    codebook_size: int = 64  # vq and msvq alike
    scales: tuple[int, ...] = (1, 2, 4, 8)  # msvq and next-scale; the last = the latent grid
    lm_width: int = 32
    lm_depth: int = 2
    lm_heads: int = 2
    diffusion_blocks: int = 2  # the per-token MLP denoiser
    diffusion_steps: int = 8  # sampling steps of the diffusion head
    tokenizer_lr: float = 1e-3
    lm_lr: float = 1e-3
    warmup_steps: int = 5


def tokenizer_config(kind: TokenizerKind, sizes: ModelSizes) -> TokenizerConfig:
    bottleneck = {
        "vq": BottleneckConfig(kind="vq", codebook_size=sizes.codebook_size, ema_decay=0.8),
        "msvq": BottleneckConfig(
            kind="msvq", codebook_size=sizes.codebook_size, scales=sizes.scales, refine_convs=2
        ),
        "continuous": BottleneckConfig(kind="continuous", kl_weight=1e-6),
    }[kind]
    return TokenizerConfig(
        widths=sizes.tokenizer_widths,
        latent_dim=sizes.latent_dim,
        norm_groups=8,
        spatial_compression=8,
        bottleneck=bottleneck,
    )


class WindowStream(torch.utils.data.IterableDataset):
    """Endless random batches of in-memory windows (seeded), as VideoBatch or TokenBatch."""

    def __init__(self, make_batch, batch_size: int, seed: int):
        super().__init__()
        self.make_batch, self.batch_size, self.seed = make_batch, batch_size, seed

    def __iter__(self) -> Iterator:
        generator = torch.Generator().manual_seed(self.seed)
        while True:
            yield self.make_batch(self.batch_size, generator)


class MemoryDataModule(L.LightningDataModule):
    def __init__(self, make_batch, batch_size: int, seed: int):
        super().__init__()
        self.stream = WindowStream(make_batch, batch_size, seed)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(self.stream, batch_size=None)


def video_batches(windows: Windows, frames: int):
    def make(batch_size: int, generator: torch.Generator) -> VideoBatch:
        batch = sample_batch(windows, batch_size, generator)
        return VideoBatch(batch.video_BCTHW[:, :, :frames], batch.actions_BT[:, :frames])

    return make


@dataclass
class TrainedTokenizer:
    kind: TokenizerKind
    tokenizer: VideoTokenizer  # eval mode, frozen
    steps: int
    wall_s: float


def train_tokenizer(
    kind: TokenizerKind, windows: Windows, sizes: ModelSizes, budget: Budget, batch: int,
    frames: int, root, seed: int,
) -> TrainedTokenizer:  # fmt: skip
    """Train one tokenizer on `frames`-frame crops of the training windows."""
    torch.manual_seed(seed)  # parameter initialisation only (Lightning modules take no generator)
    optimizer = OptimizerConfig(lr=sizes.tokenizer_lr, warmup_steps=sizes.warmup_steps)
    module = TokenizerModule(tokenizer_config(kind, sizes), optimizer=optimizer,
                             max_steps=budget.max_steps)  # fmt: skip
    data = MemoryDataModule(video_batches(windows, frames), batch, seed)
    run = train_module(module, data, budget, root, validate=False)
    tokenizer = run.module.tokenizer.eval().requires_grad_(False)
    if tokenizer.is_continuous:
        generator = torch.Generator().manual_seed(seed)
        tokenizer.set_latent_statistics(sample_batch(windows, 8, generator).video_BCTHW)
    return TrainedTokenizer(kind, tokenizer, run.steps, run.wall_s)


# -- values: what a generator predicts ---------------------------------------------------


@torch.no_grad()
def encode_values(tokenizer: VideoTokenizer, video_BCTHW: torch.Tensor, chunk: int = 16):
    """Codes (B×T×H×W or B×T×L) or latents B×T×H×W×C of clips, encoded `chunk` at a time."""
    outputs = []
    for start in range(0, video_BCTHW.shape[0], chunk):
        encoded = tokenizer.encode(video_BCTHW[start : start + chunk])
        if tokenizer.is_continuous:
            outputs.append(encoded.latents.permute(0, 2, 3, 4, 1).contiguous())
        else:
            outputs.append(encoded.codes.long())
    return torch.cat(outputs)


@dataclass
class Paradigm:
    order: Literal["next_token", "next_block", "next_scale"]
    head: Literal["categorical", "diffusion"]

    @property
    def name(self) -> str:
        return f"{self.order} × {self.head}"

    @property
    def tokenizer_kind(self) -> TokenizerKind:
        if self.head == "diffusion":
            return "continuous"
        return "msvq" if self.order == "next_scale" else "vq"


def lm_config(
    paradigm: Paradigm, tokenizer: VideoTokenizer, sizes: ModelSizes, frames: int,
    num_actions: int,
) -> VideoLMConfig:  # fmt: skip
    grid = (frames, sizes.scales[-1], sizes.scales[-1])
    options: dict = {}
    if paradigm.order == "next_scale":
        options = {"scales": list(sizes.scales)}
        if paradigm.head == "categorical":
            from arvideo.lm.orders.next_scale import tokenizer_options

            options = tokenizer_options(tokenizer)
    categorical = paradigm.head == "categorical"
    return VideoLMConfig(
        width=sizes.lm_width, depth=sizes.lm_depth, heads=sizes.lm_heads,
        order=paradigm.order, head=paradigm.head, order_options=options,
        head_options={} if categorical else {"blocks": sizes.diffusion_blocks},
        vocab_size=max(tokenizer.vocab_size, 1), code_depth=tokenizer.code_depth,
        latent_dim=0 if categorical else tokenizer.latent_dim, grid=grid,
        num_actions=num_actions,
    )  # fmt: skip


def build_lm(paradigm: Paradigm, tokenizer: VideoTokenizer, config: VideoLMConfig) -> VideoLM:
    model = VideoLM(config)
    if paradigm.order == "next_scale" and paradigm.head == "categorical":
        model.order.load_tokenizer(tokenizer)
    return model


class LMModule(ScheduledAdamW, L.LightningModule):
    """The smallest LightningModule around a VideoLM: loss, AdamW + warm-up/cosine."""

    def __init__(self, model: VideoLM, optimizer: OptimizerConfig, max_steps: int):
        super().__init__()
        self.model, self.optimizer_config, self.max_steps = model, optimizer, max_steps

    def training_step(self, batch: TokenBatch, batch_idx: int) -> torch.Tensor:
        output = self.model.loss(batch)
        self.log("train/loss", output.loss.detach(), batch_size=len(batch))
        return output.loss


@dataclass
class TrainedGenerator:
    paradigm: Paradigm
    model: VideoLM  # eval mode
    run: TrainedRun
    tokens_per_step: int  # predicted positions per optimizer step (batch × clip)
    extra: dict = field(default_factory=dict)


def train_generator(
    paradigm: Paradigm, tokenizer: VideoTokenizer, values: torch.Tensor, actions_BT: torch.Tensor,
    sizes: ModelSizes, budget: Budget, batch: int, root, seed: int, num_actions: int,
) -> TrainedGenerator:  # fmt: skip
    """Train one VideoLM on pre-encoded training windows (values and their actions)."""
    torch.manual_seed(seed)  # parameter initialisation only, the same seed for every paradigm
    config = lm_config(paradigm, tokenizer, sizes, values.shape[1], num_actions)
    model = build_lm(paradigm, tokenizer, config)
    lm_values = model.from_tokenizer_values(values)
    kind = "codes" if paradigm.head == "categorical" else "latents"

    def make(batch_size: int, generator: torch.Generator) -> TokenBatch:
        index = torch.randint(lm_values.shape[0], (batch_size,), generator=generator)
        return TokenBatch(**{kind: lm_values[index]}, actions=actions_BT[index])

    optimizer = OptimizerConfig(lr=sizes.lm_lr, warmup_steps=sizes.warmup_steps)
    module = LMModule(model, optimizer, budget.max_steps)
    run = train_module(module, MemoryDataModule(make, batch, seed), budget, root, validate=False)
    tokens = batch * values.shape[1] * model.order.tokens_per_frame
    return TrainedGenerator(paradigm, run.module.model.eval(), run, tokens)
