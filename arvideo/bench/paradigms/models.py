"""The models of the paradigm benchmark: three tokenizers and six generators, all trained
through `arvideo.training.budgeted.train_module` (one recipe, one budget).

Tokenizers: single-scale VQ (next-token, next-block categorical), multi-scale residual VQ
(msvq, next-scale categorical) and continuous KL latents (every diffusion head). Each is
either trained with the tokenizer benchmark's recipe (configs/tokenizer/<prefix>_<kind>.yaml
through `arvideo.training.tokenizer_runs.build_run`) or loaded from a folder that benchmark saved;
either way they must share one latent grid. Generators share one backbone size and train in
memory; next_scale takes its scales from the msvq tokenizer, for both heads. Values a
generator trains on: codes B×T×H×W (vq), codes B×T×L (msvq), latents B×T×H×W×C, or, for
next-scale diffusion, the residual pyramid B×T×L×C of those latents at msvq's scales
(`LatentScales.decompose`). Knows the tokenizer and LM APIs; knows nothing about
metrics or reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import lightning as L
import torch

from arvideo.bridge import lm_fields
from arvideo.data.batch import TokenBatch
from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.tokenizer import VideoTokenizer
from arvideo.training.budgeted import Budget, TrainedRun, train_module
from arvideo.training.optim import OptimizerConfig, ScheduledAdamW
from arvideo.training.tokenizer_runs import (
    CONFIG_DIR,
    TokenizerBudget,
    load_config,
    train_bottleneck,
)

TokenizerKind = Literal["vq", "msvq", "continuous"]
KINDS: tuple[TokenizerKind, ...] = ("vq", "msvq", "continuous")


@dataclass
class ModelSizes:
    """What one budget fixes for every generator (the comparison changes only the paradigm).

    Tokenizers are sized by their YAML recipe (configs/tokenizer), not here."""

    lm_width: int = 32
    lm_depth: int = 2
    lm_heads: int = 2
    diffusion_blocks: int = 2  # the per-token MLP denoiser
    diffusion_steps: int = 8  # sampling steps of the diffusion head
    lm_lr: float = 1e-3
    warmup_steps: int = 5


@dataclass
class TrainedTokenizer:
    kind: TokenizerKind
    tokenizer: VideoTokenizer  # eval mode, frozen
    source: str  # the YAML it was trained from here, or the folder it was loaded from
    steps: int | None = None  # None when loaded (its training is not ours to report)
    wall_s: float | None = None


def train_tokenizer(
    kind: TokenizerKind, data: str, plan: TokenizerBudget, root: Path, seed: int
) -> TrainedTokenizer:
    """Train one tokenizer with the tokenizer benchmark's recipe (its `train_bottleneck`: the
    model, loss, optimizer and data sections of configs/tokenizer/<plan.config_prefix>_<kind>
    .yaml, on the train split of `data`); saved as `<root>/<kind>/tokenizer` (reusable)."""
    config = load_config(kind, plan.config_prefix, CONFIG_DIR)
    trained = train_bottleneck(kind, config, data, plan, root, seed, progress=False)
    tokenizer = trained.tokenizer.eval().requires_grad_(False)
    source = f"trained here from {plan.config_prefix}_{kind}.yaml, saved to {trained.folder}"
    return TrainedTokenizer(kind, tokenizer, source, trained.steps, trained.train_s)


def load_tokenizer(root: Path, kind: TokenizerKind) -> TrainedTokenizer:
    """`<root>/<kind>/tokenizer` (the layout `arvideo bench tokenizer` saves), frozen."""
    folder = root / kind / "tokenizer"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"tokenizers={str(root)!r} has no {kind} tokenizer: {folder} is not a folder "
            f"(expected {', '.join(f'{k}/tokenizer' for k in KINDS)}, as `arvideo bench "
            "tokenizer` saves them under its run_dir)"
        )
    tokenizer = VideoTokenizer.from_pretrained(folder).eval().requires_grad_(False)
    found = tokenizer.config.bottleneck.kind
    if found != kind:
        raise ValueError(f"{folder} holds a {found!r} tokenizer; the paradigms need {kind!r} here")
    return TrainedTokenizer(kind, tokenizer, str(folder))


def get_tokenizers(
    kinds: list[TokenizerKind], folder: Path | None, data: str, plan: TokenizerBudget,
    root: Path, seed: int,
) -> dict[str, TrainedTokenizer]:  # fmt: skip
    """`<folder>/<kind>/tokenizer` when a folder is given, else each trained here with the
    tokenizer benchmark's recipe and saved as `<root>/<kind>/tokenizer` (the same layout)."""
    if folder is not None:
        return {kind: load_tokenizer(folder, kind) for kind in kinds}
    return {kind: train_tokenizer(kind, data, plan, root, seed) for kind in kinds}


def shared_latent_grid(
    tokenizers: dict[str, TrainedTokenizer], frame_hw: tuple[int, int]
) -> tuple[int, int]:
    """The latent grid H×W every tokenizer maps `frame_hw` frames to; raises, naming the
    tokenizer's source, when one cannot encode such frames, compresses time (rollouts
    predict one latent frame per frame), or disagrees with the others (or msvq's last
    scale is not the grid)."""
    grids = {}
    for trained in tokenizers.values():
        tokenizer = trained.tokenizer
        try:
            grid = tokenizer.latent_grid(1, *frame_hw)
        except ValueError as error:
            raise ValueError(
                f"tokenizer {trained.source}: cannot encode the frames: {error}"
            ) from error
        if tokenizer.temporal_compression != 1:
            raise ValueError(
                f"tokenizer {trained.source}: temporal_compression="
                f"{tokenizer.temporal_compression}; the rollouts need 1 (a latent per frame)"
            )
        if tokenizer.scales is not None and tokenizer.scales[-1] != grid.height:
            raise ValueError(
                f"tokenizer {trained.source}: msvq scales {tokenizer.scales} end at "
                f"{tokenizer.scales[-1]}, not at its {grid.height}×{grid.width} latent grid"
            )
        grids[trained.source] = (grid.height, grid.width)
    if len(set(grids.values())) > 1:
        found = "; ".join(f"{source}: {h}×{w}" for source, (h, w) in grids.items())
        raise ValueError(
            f"the tokenizers map {frame_hw[0]}×{frame_hw[1]} frames to different latent grids "
            f"({found}); every paradigm must predict the same grid"
        )
    return next(iter(grids.values()))


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


def values_grid(tokenizer: VideoTokenizer, values: torch.Tensor) -> tuple[int, int, int]:
    """Latent grid T×H×W of tokenizer values: B×T×H×W codes or B×T×H×W×C latents, or
    B×T×L msvq codes (the grid is its last scale)."""
    if tokenizer.scales is not None:
        return values.shape[1], tokenizer.scales[-1], tokenizer.scales[-1]
    return values.shape[1], values.shape[2], values.shape[3]


def order_options(paradigm: Paradigm, msvq: VideoTokenizer | None) -> dict:
    """next_scale takes its pyramid from the msvq tokenizer (scales, up-sampling; categorical
    also its refiners), so next-scale diffusion splits continuous latents (`LatentScales.
    decompose`) at the very scales next-scale categorical predicts codes at."""
    if paradigm.order != "next_scale":
        return {}
    if msvq is None or msvq.scales is None:
        raise ValueError(f"{paradigm.name} takes its scales from an msvq tokenizer; none given")
    from arvideo.lm.orders.next_scale import tokenizer_options

    options = tokenizer_options(msvq)
    if paradigm.head == "diffusion":
        return {"scales": options["scales"], "upsample_mode": options["upsample_mode"]}
    return options


def lm_config(
    paradigm: Paradigm, tokenizers: dict[str, VideoTokenizer], sizes: ModelSizes,
    grid: tuple[int, int, int], num_actions: int,
) -> VideoLMConfig:  # fmt: skip
    """The generator of `paradigm` on its tokenizer's values (grid: latent T×H×W)."""
    categorical = paradigm.head == "categorical"
    values = "codes" if categorical else "latents"
    return VideoLMConfig(
        width=sizes.lm_width, depth=sizes.lm_depth, heads=sizes.lm_heads,
        order=paradigm.order, head=paradigm.head,
        order_options=order_options(paradigm, tokenizers.get("msvq")),
        head_options={} if categorical else {"blocks": sizes.diffusion_blocks},
        num_actions=num_actions, **lm_fields(tokenizers[paradigm.tokenizer_kind], values, grid),
    )  # fmt: skip


def build_lm(paradigm: Paradigm, tokenizer: VideoTokenizer, config: VideoLMConfig) -> VideoLM:
    model = VideoLM(config)
    if model.order.needs_tokenizer_scales(config.values):  # next_scale codes
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
    paradigm: Paradigm, tokenizers: dict[str, VideoTokenizer], values: torch.Tensor,
    actions_BT: torch.Tensor, sizes: ModelSizes, budget: Budget, batch: int, root, seed: int,
    num_actions: int,
) -> TrainedGenerator:  # fmt: skip
    """Train one VideoLM on pre-encoded training windows (values of the paradigm's tokenizer
    and their actions); `tokenizers`: the run's, by kind (next_scale reads msvq's scales)."""
    torch.manual_seed(seed)  # parameter initialisation only, the same seed for every paradigm
    tokenizer = tokenizers[paradigm.tokenizer_kind]
    grid = values_grid(tokenizer, values)
    model = build_lm(paradigm, tokenizer, lm_config(paradigm, tokenizers, sizes, grid, num_actions))
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
