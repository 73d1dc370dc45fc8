"""VideoLM = conditioner + value embedding + backbone + token order + head.

Training: `loss(TokenBatch, generator)` flattens the tokens in the order's sequence, builds
teacher-forcing inputs (shift by one group), runs one masked forward and lets the head score
the targets. Sampling: `generate(...)` opens a `DecodingSession` (KV cache, classifier-free
guidance as a doubled batch, sliding window over frames) and hands it to the order's loop.

The model knows which pieces to assemble and how to gather conditioning per token (by the
frame the token predicts); the order owns the sequence rules, the head owns loss and
sampler, the backbone knows nothing of either. Saved as config.json + model.safetensors.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch
from safetensors.torch import load_model, save_model
from torch import nn

from arvideo.data.batch import TokenBatch

from .conditioning import ConditionEmbedding, Conditioner, ConditionerConfig, Conditions
from .decoding import DecodingSession, GeneratedTokens
from .embeddings import SlotEmbedding, value_embedding
from .heads.base import SamplingSettings
from .orders.base import TokenLayout, TokenOrder
from .transformer import Transformer, TransformerConfig

CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"


@dataclass
class VideoLMConfig:
    width: int = 256
    depth: int = 8
    heads: int = 8
    mlp_ratio: float = 4.0
    mlp: Literal["swiglu", "gelu"] = "swiglu"
    order: Literal["next_token", "next_block", "next_scale"] = "next_block"
    block_rows: int | None = None  # next_block: a band of rows per block (None = frame)
    block_frames: int = 1  # next_block: whole frames per block
    refine: bool = False  # next_block: train with random reveal for S-step refinement
    order_options: dict = field(default_factory=dict)  # extra kwargs (e.g. next_scale)
    head: Literal["categorical", "diffusion"] = "categorical"
    head_options: dict = field(default_factory=dict)  # extra head kwargs (hidden, blocks..)
    vocab_size: int = 1024  # categorical: codebook size
    code_depth: int = 1  # residual VQ depth (codes B×T×H×W×depth)
    latent_dim: int = 0  # diffusion: channels of a continuous latent token
    grid: tuple[int, int, int] = (8, 8, 8)  # T, H, W of a training clip in tokens
    window_frames: int | None = None  # attend to the last W frames only (train = sample)
    num_actions: int = 0
    num_labels: int = 0
    text_encoder: str | None = None
    text_prefix: bool = False
    cond_dropout: float = 0.1  # per condition, to null (CFG training)

    def __post_init__(self):
        self.grid = tuple(self.grid)
        if len(self.grid) != 3:
            raise ValueError(f"grid must be (T, H, W), got {self.grid}")
        if self.head not in ("categorical", "diffusion"):
            raise ValueError(f"head must be 'categorical' or 'diffusion', got {self.head!r}")
        if self.window_frames is not None and self.window_frames < 1:
            raise ValueError(f"window_frames must be >= 1 or None, got {self.window_frames}")

    @property
    def values(self) -> str:
        return "codes" if self.head == "categorical" else "latents"

    def transformer_config(self) -> TransformerConfig:
        return TransformerConfig(self.width, self.depth, self.heads, self.mlp_ratio, self.mlp)

    def conditioner_config(self) -> ConditionerConfig:
        return ConditionerConfig(
            self.width,
            self.num_actions,
            self.num_labels,
            self.text_encoder,
            self.text_prefix,
            self.cond_dropout,
        )


@dataclass
class LMLoss:
    loss: torch.Tensor
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)  # detached


@dataclass
class SequenceInputs:
    """Everything the backbone needs for one forward over prefix + video slots."""

    x_BND: torch.Tensor
    positions: torch.Tensor
    cond_BND: torch.Tensor
    group_N: torch.Tensor
    frame_N: torch.Tensor
    valid_BN: torch.Tensor
    prefix_len: int


def build_order(config: VideoLMConfig) -> TokenOrder:
    _, H, W = config.grid

    def factory() -> nn.Module:
        return value_embedding(
            config.values, config.width, config.vocab_size, config.code_depth, config.latent_dim
        )

    if config.order == "next_token":
        from .orders.next_token import NextTokenOrder

        return NextTokenOrder((H, W), config.width, factory, **config.order_options)
    if config.order == "next_block":
        from .orders.next_block import NextBlockOrder

        return NextBlockOrder(
            (H, W), config.width, factory, config.block_rows, config.block_frames,
            config.refine, **config.order_options,
        )  # fmt: skip
    if config.order == "next_scale":
        from .orders.next_scale import NextScaleOrder

        values = dict(
            values=config.values, vocab_size=config.vocab_size, latent_dim=config.latent_dim
        )
        if config.code_depth != 1:
            raise ValueError(f"next_scale needs code_depth 1, got {config.code_depth}")
        return NextScaleOrder((H, W), config.width, factory, **values, **config.order_options)
    raise ValueError(f"order must be next_token, next_block or next_scale: {config.order!r}")


def build_head(config: VideoLMConfig) -> nn.Module:
    if config.head == "categorical":
        from .heads.categorical import CategoricalHead

        return CategoricalHead(
            config.width, config.vocab_size, config.code_depth, **config.head_options
        )
    from .heads.diffusion import DiffusionHead

    if config.latent_dim < 1:  # checked here: a trainer fills it in from the data set
        raise ValueError("head='diffusion' needs latent_dim >= 1")
    return DiffusionHead(config.width, config.latent_dim, **config.head_options)


class VideoLM(nn.Module):
    def __init__(self, config: VideoLMConfig):
        super().__init__()
        self.config = config
        self.conditioner = Conditioner(config.conditioner_config())
        # next-scale reads its inputs from the multi-scale arithmetic, not from embeddings
        # (an unused module would also break DDP's gradient bookkeeping)
        self.embed = None
        if config.order != "next_scale":
            self.embed = value_embedding(
                config.values, config.width, config.vocab_size, config.code_depth, config.latent_dim
            )
        self.order = build_order(config)
        self.slots = SlotEmbedding(self.order.tokens_per_frame, config.width)
        self.backbone = Transformer(config.transformer_config())
        self.head = build_head(config)

    # -- shared pieces ----------------------------------------------------------------------

    def sequence_inputs(
        self, inputs_BnD: torch.Tensor, layout: TokenLayout, cond: ConditionEmbedding
    ) -> SequenceInputs:
        """Add slot embeddings, gather per-token conditioning, prepend prefix tokens."""
        B, n, D = inputs_BnD.shape
        x = inputs_BnD + self.slots(layout.slot_N)
        frame_BTD = cond.frame_BTD.expand(B, -1, -1)
        if n and int(layout.frame_N.max()) >= frame_BTD.shape[1]:
            raise ValueError("conditioning covers fewer frames than the tokens predict")
        cond_BnD = frame_BTD[:, layout.frame_N]
        valid = torch.ones(B, n, dtype=torch.bool, device=x.device)
        if cond.prefix_BPD is None:
            return SequenceInputs(
                x, layout.positions_N4, cond_BnD, layout.group_N, layout.frame_N, valid, 0
            )
        prefix = cond.prefix_BPD.expand(B, -1, -1)
        P = prefix.shape[1]
        prefix_valid = cond.prefix_mask_BP.expand(B, -1)
        minus_one = torch.full((P,), -1, dtype=torch.long, device=x.device)
        # Prefix tokens share one position: a bag of (already contextual) text tokens at t=-1.
        prefix_pos = torch.zeros(P, 4, device=x.device)
        prefix_pos[:, 0] = -1.0
        return SequenceInputs(
            x_BND=torch.cat([prefix.to(x.dtype), x], dim=1),
            positions=torch.cat([prefix_pos, layout.positions_N4]),
            cond_BND=torch.cat([frame_BTD[:, :1].expand(B, P, D), cond_BnD], dim=1),
            group_N=torch.cat([minus_one, layout.group_N]),
            frame_N=torch.cat([minus_one, layout.frame_N]),
            valid_BN=torch.cat([prefix_valid, valid], dim=1),
            prefix_len=P,
        )

    def forward_sequence(self, seq: SequenceInputs, window_frames: int | None) -> torch.Tensor:
        """One masked forward without cache -> z for the video slots (prefix dropped)."""
        valid = None if bool(seq.valid_BN.all()) else seq.valid_BN
        meta = (seq.group_N, seq.frame_N)
        mask = self.order.mask(meta, meta, window_frames, valid_BK=valid, query_offset=0)
        h = self.backbone(seq.x_BND, seq.positions, mask, seq.cond_BND)
        return h[:, seq.prefix_len :]

    @property
    def predicts_pyramids(self) -> bool:
        """Next-scale on continuous latents predicts residual pyramids B×T×L×C."""
        return self.config.order == "next_scale" and self.config.head == "diffusion"

    def from_tokenizer_values(self, values: torch.Tensor) -> torch.Tensor:
        """Tokenizer values (codes, or latents B×T×H×W×C) -> the values this LM predicts."""
        return self.order.arithmetic.decompose(values) if self.predicts_pyramids else values

    def to_tokenizer_values(self, values: torch.Tensor) -> torch.Tensor:
        """The inverse of `from_tokenizer_values` (for decoding what the LM generated)."""
        return self.order.arithmetic.compose(values) if self.predicts_pyramids else values

    def values_of(self, batch: TokenBatch) -> torch.Tensor:
        tokens = batch.codes if self.config.values == "codes" else batch.latents
        if tokens is None:
            raise ValueError(f"batch has no {self.config.values} (head={self.config.head!r})")
        return tokens

    # -- training ---------------------------------------------------------------------------

    def head_inputs(
        self,
        batch: TokenBatch,
        generator: torch.Generator | None = None,
        reveal_BN: torch.Tensor | None = None,
    ):
        """Teacher-forced z_BND at every slot, with the flattened targets and loss weights."""
        tokens = self.values_of(batch)
        T = tokens.shape[1]
        values = self.order.flatten(tokens)
        layout = self.order.layout(T).to(values.device)
        conditions = Conditions(batch.actions, batch.labels, batch.captions)
        cond = self.conditioner(conditions, T, generator=generator, batch_size=len(batch))
        forcing = self.order.teacher_forcing(values, self.embed, generator, reveal_BN)
        seq = self.sequence_inputs(forcing.inputs_BND, layout, cond)
        z = self.forward_sequence(seq, self.config.window_frames)
        return z, values, forcing

    def loss(self, batch: TokenBatch, generator: torch.Generator | None = None) -> LMLoss:
        z, values, forcing = self.head_inputs(batch, generator)
        head_loss = self.head.loss(z, values, forcing.weight_BN, generator)
        metrics = {k: v.detach() for k, v in head_loss.metrics.items()}
        tokens = float(values.shape[0] * values.shape[1])
        metrics["tokens"] = torch.tensor(tokens, device=head_loss.loss.device)
        return LMLoss(head_loss.loss, metrics)

    forward = loss

    # -- sampling ---------------------------------------------------------------------------

    @torch.no_grad()
    def generate(
        self,
        context: torch.Tensor | None,
        conditions: Conditions | None,
        num_frames: int,
        settings: SamplingSettings | None = None,
        cfg_scale: float = 1.0,
        generator: torch.Generator | None = None,
        window_frames: int | None = None,
        cfg_schedule: Literal["constant", "linear"] = "constant",
        refine_steps: int = 1,
        batch_size: int | None = None,
        use_cache: bool = True,
    ) -> GeneratedTokens:
        """Sample `num_frames` frames in total (context frames included).

        context: codes B×c×H×W(×depth) or latents B×c×H×W×C of the first c frames, or None
        (then batch_size, default 1). window_frames: attend to the last W frames only
        (default: the config's), so generation can run past the trained length. Runs in
        eval mode (no conditioning dropout) and restores the previous mode afterwards.
        """
        with eval_mode(self):
            session = DecodingSession(
                self, conditions or Conditions(), num_frames, settings or SamplingSettings(),
                cfg_scale, cfg_schedule, generator,
                self.config.window_frames if window_frames is None else window_frames,
                _batch_size(context, batch_size), use_cache,
            )  # fmt: skip
            flat = None if context is None else self.order.flatten(context)
            trace = self.order.generate(session, session.layout, flat, generator, refine_steps)
            return GeneratedTokens(
                values=self.order.unflatten(trace.values, num_frames),
                forward_passes=trace.forward_passes,
                num_frames=num_frames,
                context_frames=0 if context is None else context.shape[1],
                z_BND=trace.z_BND,
                reveal_BN=trace.reveal_BN,
            )

    # -- persistence ------------------------------------------------------------------------

    def save_pretrained(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = asdict(self.config)
        config["grid"] = list(self.config.grid)
        (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2))
        save_model(self, str(directory / WEIGHTS_NAME))

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str = "cpu") -> VideoLM:
        directory = Path(directory)
        config = VideoLMConfig(**json.loads((directory / CONFIG_NAME).read_text()))
        model = cls(config)
        load_model(model, str(directory / WEIGHTS_NAME), strict=True, device=device)
        return model.to(device)


@contextmanager
def eval_mode(module: nn.Module):
    """Eval mode inside the block (no conditioning dropout), the previous mode after."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def _batch_size(context: torch.Tensor | None, batch_size: int | None) -> int:
    if context is None:
        return batch_size or 1
    if batch_size is not None and batch_size != context.shape[0]:
        raise ValueError(f"batch_size {batch_size} disagrees with context {context.shape[0]}")
    return context.shape[0]
