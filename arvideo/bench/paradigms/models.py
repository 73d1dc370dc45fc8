"""The models of the paradigm benchmark: three tokenizers and nine generators, all trained
through `arvideo.training.budgeted.train_module` (one budget); generators are
`GeneratorModule`s, the trainer `arvideo fit` runs.

Tokenizers: single-scale VQ (next-token, next-block categorical), multi-scale residual VQ
(msvq, next-scale categorical) and continuous KL latents (every diffusion and velocity
head; a frame denoiser trains with its shipped recipe's history corruption). Each is
either trained with the tokenizer benchmark's recipe (configs/tokenizer/<prefix>_<kind>.yaml
through `arvideo.training.tokenizer_runs.build_run`) or loaded from a folder that benchmark
saved; either way they must share one latent grid. Generators share one backbone size and
train in memory (`GeneratorData`: training windows, the evaluation windows for validation);
next_scale takes its scales from the msvq tokenizer, for both heads. Values a generator
trains on: codes B×T×H×W (vq), codes B×T×L (msvq), latents B×T×H×W×C, or, for next-scale
diffusion, the residual pyramid B×T×L×C of those latents at msvq's scales
(`LatentScales.decompose`). Knows the tokenizer and LM APIs; knows nothing about metrics or
reports.
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
from arvideo.lm.heads import head_class
from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.lm.orders import order_class
from arvideo.tokenizer import VideoTokenizer
from arvideo.training.budgeted import Budget, TrainedRun, train_module
from arvideo.training.generator_module import GeneratorModule, TokenDatasetInfo
from arvideo.training.optim import OptimizerConfig
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
    # GeneratorModule's weight EMA (configs/lm ship 0.999); off here: at these step counts
    # a 0.999 average still holds much of the initial weights
    ema_decay: float | None = None


@dataclass
class TrainedTokenizer:
    kind: TokenizerKind
    tokenizer: VideoTokenizer  # eval mode, frozen
    source: str  # the YAML it was trained from here, or the folder it was loaded from
    steps: int | None = None  # None when loaded (its training is not ours to report)
    wall_s: float | None = None
    folder: Path | None = None  # its saved folder (GeneratorModule reloads next_scale's)


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
    return TrainedTokenizer(kind, tokenizer, source, trained.steps, trained.train_s, trained.folder)


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
    return TrainedTokenizer(kind, tokenizer, str(folder), folder=folder)


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
    """Endless seeded training batches (`make_batch`) and, if given, fixed validation batches."""

    def __init__(self, make_batch, batch_size: int, seed: int, val_batches: list | None = None):
        super().__init__()
        self.stream = WindowStream(make_batch, batch_size, seed)
        self.val_batches = val_batches or []

    def train_dataloader(self):
        return torch.utils.data.DataLoader(self.stream, batch_size=None)

    def val_dataloader(self):
        return torch.utils.data.DataLoader(self.val_batches, batch_size=None)


@dataclass
class GeneratorData:
    """One paradigm's windows in memory: tokenizer values (codes B×T×H×W or B×T×L, or latents
    B×T×H×W×C) and actions B×T of the training windows and of held-out validation windows."""

    train_values: torch.Tensor
    train_actions_BT: torch.Tensor
    val_values: torch.Tensor
    val_actions_BT: torch.Tensor
    num_actions: int

    def info(
        self, trained: TrainedTokenizer, values: str, grid: tuple[int, int, int]
    ) -> TokenDatasetInfo:
        """What `GeneratorModule` would read from an encoded data set's manifest."""
        return TokenDatasetInfo(
            tokenizer_dir=str(trained.folder), tokenizer=trained.tokenizer.config, kind=values,
            latent_frames=grid[0], latent_hw=(grid[1], grid[2]), num_actions=self.num_actions,
            action_meanings=None,
        )  # fmt: skip

    def module(self, values: str, batch_size: int, seed: int) -> MemoryDataModule:
        """Random training batches (seeded) and the validation windows as one batch."""

        def make(size: int, generator: torch.Generator) -> TokenBatch:
            index = torch.randint(self.train_values.shape[0], (size,), generator=generator)
            return TokenBatch(**{values: self.train_values[index]},
                              actions=self.train_actions_BT[index])  # fmt: skip

        val = TokenBatch(**{values: self.val_values}, actions=self.val_actions_BT)
        return MemoryDataModule(make, batch_size, seed, [val])


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
    order: str  # a name in ORDERS
    head: str  # a name in HEADS

    @property
    def name(self) -> str:
        return f"{self.order} × {self.head}"

    @property
    def tokenizer_kind(self) -> TokenizerKind:
        """continuous for a head on latents; msvq for codes of an order that reads the
        tokenizer's scales (next_scale); vq otherwise."""
        values = head_class(self.head).values
        if values == "latents":
            return "continuous"
        return "msvq" if order_class(self.order).needs_tokenizer_scales(values) else "vq"

    @property
    def scales_from_msvq(self) -> bool:
        """next_scale takes its scales from the msvq tokenizer, on codes or on continuous
        latents alike (both heads predict at the same scales)."""
        return self.order == "next_scale"

    @property
    def tokenizer_kinds(self) -> set[str]:
        """Every tokenizer the paradigm reads: its values' kind, and msvq for its scales."""
        return {self.tokenizer_kind} | ({"msvq"} if self.scales_from_msvq else set())


def values_grid(tokenizer: VideoTokenizer, values: torch.Tensor) -> tuple[int, int, int]:
    """Latent grid T×H×W of tokenizer values: B×T×H×W codes or B×T×H×W×C latents, or
    B×T×L msvq codes (the grid is its last scale)."""
    if tokenizer.scales is not None:
        return values.shape[1], tokenizer.scales[-1], tokenizer.scales[-1]
    return values.shape[1], values.shape[2], values.shape[3]


def order_options(paradigm: Paradigm, msvq: VideoTokenizer | None) -> dict:
    """next_scale takes its pyramid from the msvq tokenizer (scales, up-sampling, residual or
    pooled; categorical also its refiners), so next-scale diffusion splits continuous latents
    (`LatentScales.decompose`) at the very scales, and in the very way, next-scale
    categorical predicts codes."""
    if not paradigm.scales_from_msvq:
        return {}
    if msvq is None or msvq.scales is None:
        raise ValueError(f"{paradigm.name} takes its scales from an msvq tokenizer; none given")
    from arvideo.lm.orders.next_scale import tokenizer_options

    options = tokenizer_options(msvq)
    if paradigm.head == "diffusion":
        return {key: options[key] for key in ("scales", "upsample_mode", "residual")}
    return options


LM_RECIPES = Path(__file__).resolve().parents[3] / "configs" / "lm"


def shipped_history_corruption(paradigm: Paradigm) -> float:
    """The history corruption the paradigm's shipped recipe trains with (configs/lm/
    <order>_<head>.yaml, e.g. next_frame_flow's 0.1); 0 where it sets none."""
    import yaml

    path = LM_RECIPES / f"{paradigm.order}_{paradigm.head}.yaml"
    if not path.is_file():
        return 0.0
    lm = yaml.safe_load(path.read_text())["model"]["init_args"]["lm"]
    return float(lm.get("history_corruption", 0.0))


def lm_config(
    paradigm: Paradigm, tokenizers: dict[str, VideoTokenizer], sizes: ModelSizes,
    grid: tuple[int, int, int], num_actions: int,
) -> VideoLMConfig:  # fmt: skip
    """The generator of `paradigm` on its tokenizer's values (grid: latent T×H×W)."""
    values = head_class(paradigm.head).values
    head_options = {"blocks": sizes.diffusion_blocks} if paradigm.head == "diffusion" else {}
    return VideoLMConfig(
        width=sizes.lm_width, depth=sizes.lm_depth, heads=sizes.lm_heads,
        order=paradigm.order, head=paradigm.head,
        order_options=order_options(paradigm, tokenizers.get("msvq")),
        head_options=head_options, history_corruption=shipped_history_corruption(paradigm),
        num_actions=num_actions, **lm_fields(tokenizers[paradigm.tokenizer_kind], values, grid),
    )  # fmt: skip


def build_lm(paradigm: Paradigm, tokenizer: VideoTokenizer, config: VideoLMConfig) -> VideoLM:
    """The untrained generator of `paradigm`, as `GeneratorModule` builds it (for inspection:
    training goes through `train_generator`)."""
    model = VideoLM(config)
    if model.order.needs_tokenizer_scales(config.values):  # next_scale codes
        model.order.load_tokenizer(tokenizer)
    return model


@dataclass
class TrainedGenerator:
    paradigm: Paradigm
    model: VideoLM  # eval mode
    run: TrainedRun
    tokens_per_step: int  # predicted positions per optimizer step (batch × clip)
    extra: dict = field(default_factory=dict)


def train_generator(
    paradigm: Paradigm, tokenizers: dict[str, TrainedTokenizer], data: GeneratorData,
    sizes: ModelSizes, budget: Budget, batch: int, root, seed: int,
) -> TrainedGenerator:  # fmt: skip
    """Train one VideoLM with `GeneratorModule` (the recipe `arvideo fit` ships: AdamW +
    warm-up/cosine, EMA when `sizes.ema_decay` is set, a final validation pass) on
    pre-encoded training windows; `tokenizers`: the run's, by kind (next_scale reads msvq's
    scales). The sampling weights are saved as `<root>/model` (VideoLM.from_pretrained), so
    a run's generators can be scored again (other sampling settings) without training."""
    trained = tokenizers[paradigm.tokenizer_kind]
    grid = values_grid(trained.tokenizer, data.train_values)
    kinds = {kind: t.tokenizer for kind, t in tokenizers.items()}
    config = lm_config(paradigm, kinds, sizes, grid, data.num_actions)
    torch.manual_seed(seed)  # parameter initialisation only, the same seed for every paradigm
    module = GeneratorModule(
        data.info(trained, config.values, grid), config,
        optimizer=OptimizerConfig(lr=sizes.lm_lr, warmup_steps=sizes.warmup_steps),
        max_steps=budget.max_steps, ema_decay=sizes.ema_decay, seed=seed,
    )  # fmt: skip
    run = train_module(module, data.module(config.values, batch, seed), budget, root)
    model = run.module.model
    if run.module.ema is not None:  # rollouts sample with the averaged weights, as export does
        run.module.ema.copy_into(model)
    model.save_pretrained(Path(root) / "model")
    tokens = batch * grid[0] * model.order.tokens_per_frame
    return TrainedGenerator(paradigm, model.eval(), run, tokens)
