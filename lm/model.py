"""VideoLM = conditioner + value embedding + backbone + token order + head.

Training: `loss(TokenBatch, generator)` flattens the tokens in the order's sequence, builds
teacher-forcing inputs (shift by one group), runs one masked forward and lets the head score
the targets. Sampling: `decode(..., DecodeOptions)` (or `generate`, the same with the
options as keywords) opens a `DecodingSession` (KV cache, classifier-free guidance as a
doubled batch, sliding window over frames) and hands it to the order's loop.

The model knows which pieces to assemble and how to gather conditioning per token (by the
frame the token predicts); the order and the head are looked up by name in their registries
(lm/orders, lm/heads) and asked about their capabilities. The order owns the sequence rules,
the head owns loss and sampler, the backbone knows nothing of either. It reads batches
through the `TokenBatch` protocol (no arvideo.data import). Saved as config.json +
model.safetensors.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

import torch
from safetensors.torch import load_model, save_model
from torch import nn

from .change_weights import changed_code_weights
from .conditioning import ConditionEmbedding, Conditioner, Conditions
from .corruption import corrupt_codes
from .decoding import DecodeOptions, DecodingSession, GeneratedTokens
from .embeddings import SlotEmbedding, value_embedding
from .heads import head_class
from .heads.base import Head, SamplingSettings
from .model_config import VideoLMConfig, inapplicable_settings
from .orders import order_class
from .orders.base import TeacherForcing, TokenOrder, complete_forcing_mask
from .sequence import SequenceInputs, TokenLayout
from .transformer import Transformer

__all__ = ["VideoLM", "VideoLMConfig", "inapplicable_settings", "LMLoss", "TokenBatch"]

CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"


@dataclass
class LMLoss:
    loss: torch.Tensor
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)  # detached


class TokenBatch(Protocol):
    """What training reads of a batch (arvideo.data.batch.TokenBatch has it): codes or
    latents B×T×..., optional actions B×T, labels B, captions; len() = B."""

    codes: torch.Tensor | None
    latents: torch.Tensor | None
    actions: torch.Tensor | None
    labels: torch.Tensor | None
    captions: list[str] | None

    def __len__(self) -> int: ...


def build_order(config: VideoLMConfig) -> TokenOrder:
    def factory() -> nn.Module:
        return value_embedding(
            config.values, config.width, config.vocab_size, config.code_depth, config.latent_dim
        )

    return order_class(config.order).from_config(config, factory)


def build_head(config: VideoLMConfig) -> Head:
    return head_class(config.head).from_config(config)


class VideoLM(nn.Module):
    def __init__(self, config: VideoLMConfig):
        super().__init__()
        self.config = config
        self.conditioner = Conditioner(config.conditioner_config())
        # next-scale reads its inputs from the multi-scale arithmetic, not from embeddings
        # (an unused module would also break DDP's gradient bookkeeping)
        self.embed = None
        if config.code_pixels and config.code_pixel_dim < 1:
            raise ValueError(
                "code_pixels needs code_pixel_dim >= 1, the values of a code's decoded patch: "
                "the trainer reads it from the tokenizer (arvideo.bridge.lm_fields)"
            )
        if order_class(config.order).uses_value_embedding:
            self.embed = value_embedding(
                config.values,
                config.width,
                config.vocab_size,
                config.code_depth,
                config.latent_dim,
                config.code_pixel_dim if config.code_pixels else 0,
            )
        self.order = build_order(config)
        self.slots = SlotEmbedding(self.order.tokens_per_frame, config.width)
        self.backbone = Transformer(config.transformer_config())
        self.head = build_head(config)

    # -- shared pieces ----------------------------------------------------------------------

    def sequence_inputs(
        self,
        inputs_BnD: torch.Tensor,
        layout: TokenLayout,
        cond: ConditionEmbedding,
        extra_cond_BnD: torch.Tensor | None = None,
    ) -> SequenceInputs:
        """Add slot embeddings, gather per-token conditioning (plus extra_cond_BnD: the
        noise levels of frame denoising), prepend prefix tokens."""
        B, n, D = inputs_BnD.shape
        x = inputs_BnD + self.slots(layout.slot_N)
        frame_BTD = cond.frame_BTD.expand(B, -1, -1)
        rows_N = layout.frame_N - cond.first_frame
        if n and int(rows_N.max()) >= frame_BTD.shape[1]:
            raise ValueError("conditioning covers fewer frames than the tokens predict")
        cond_BnD = frame_BTD[:, rows_N]
        if extra_cond_BnD is not None:
            cond_BnD = cond_BnD + extra_cond_BnD.to(cond_BnD.dtype)
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
        mask = self.order.mask(meta, meta, window_frames, valid_BN=valid, query_offset=0)
        h = self.backbone(seq.x_BND, seq.positions, mask, seq.cond_BND)
        return h[:, seq.prefix_len :]

    def from_tokenizer_values(self, values: torch.Tensor) -> torch.Tensor:
        """Tokenizer values (codes, or latents B×T×H×W×C) -> the values this LM predicts."""
        return self.order.from_tokenizer_values(values)

    def to_tokenizer_values(self, values: torch.Tensor) -> torch.Tensor:
        """The inverse of `from_tokenizer_values` (for decoding what the LM generated)."""
        return self.order.to_tokenizer_values(values)

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
        conditions = self.conditioner.used(Conditions(batch.actions, batch.labels, batch.captions))
        cond = self.conditioner(conditions, T, generator=generator, batch_size=len(batch))
        inputs = values
        if self.training and self.config.history_corruption and self.config.values == "codes":
            rate, vocab = self.config.history_corruption, self.config.vocab_size
            inputs = corrupt_codes(values, vocab, rate, generator)
        forcing = self.order.teacher_forcing(inputs, self.embed, generator, reveal_BN)
        if forcing.clean_BND is not None:
            return self._complete_forcing(forcing, layout, cond), values, forcing
        seq = self.sequence_inputs(forcing.inputs_BND, layout, cond, forcing.cond_BND)
        z = self.forward_sequence(seq, self.config.window_frames)
        return z, values, forcing

    def _complete_forcing(
        self, forcing: TeacherForcing, layout: TokenLayout, cond: ConditionEmbedding
    ) -> torch.Tensor:
        """One forward over [prefix, clean slots, noisy slots] (the order's complete
        teacher forcing); z of the noisy slots, the ones the loss reads."""
        clean = self.sequence_inputs(forcing.clean_BND, layout, cond, forcing.clean_cond_BND)
        noisy = self.sequence_inputs(
            forcing.inputs_BND, layout, cond.without_prefix(), forcing.cond_BND
        )
        valid = None if bool(clean.valid_BN.all()) else clean.valid_BN
        mask = complete_forcing_mask(
            (clean.group_N, clean.frame_N), (noisy.group_N, noisy.frame_N),
            self.config.window_frames, valid,
        )  # fmt: skip
        both = SequenceInputs.cat(clean, noisy)
        h = self.backbone(both.x_BND, both.positions, mask, both.cond_BND)
        return h[:, clean.x_BND.shape[1] :]

    def loss(self, batch: TokenBatch, generator: torch.Generator | None = None) -> LMLoss:
        z, values, forcing = self.head_inputs(batch, generator)
        target = values if forcing.target is None else forcing.target
        head_loss = self.head.loss(z, target, self._loss_weights(batch, forcing), generator)
        metrics = {k: v.detach() for k, v in head_loss.metrics.items()}
        tokens = float(values.shape[0] * values.shape[1])
        metrics["tokens"] = torch.tensor(tokens, device=head_loss.loss.device)
        return LMLoss(head_loss.loss, metrics)

    forward = loss

    def _loss_weights(self, batch: TokenBatch, forcing: TeacherForcing) -> torch.Tensor | None:
        """The order's slot weights, times the changed-code weights when `change_weight`."""
        if self.config.change_weight == 1:
            return forcing.weight_BN
        weights = changed_code_weights(
            self.values_of(batch), self.config.change_weight, self.config.code_depth
        )
        weights_BN = self.order.flatten(weights)
        return weights_BN if forcing.weight_BN is None else forcing.weight_BN * weights_BN

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
        *,
        batch_size: int | None = None,
        **options,
    ) -> GeneratedTokens:
        """`decode` with the options spelled out: `options` are the other `DecodeOptions`
        fields (window_frames, cfg_schedule, refine_steps, use_cache); settings None = the
        config's defaults (`sampling`)."""
        settings = settings or self.config.sampling_settings()
        decode = DecodeOptions(settings, cfg_scale, generator=generator)
        return self.decode(context, conditions, num_frames, replace(decode, **options), batch_size)

    @torch.no_grad()
    def decode(
        self,
        context: torch.Tensor | None,
        conditions: Conditions | None,
        num_frames: int,
        options: DecodeOptions,
        batch_size: int | None = None,
    ) -> GeneratedTokens:
        """Sample `num_frames` frames in total (context frames included).

        context: codes B×c×H×W(×depth) or latents B×c×H×W×C of the first c frames, or None
        (then batch_size, default 1). options.window_frames: attend to the last W frames
        only (None: the config's), so generation can run past the trained length. Runs in
        eval mode (no conditioning dropout) and restores the previous mode afterwards.
        """
        with eval_mode(self):
            B = _batch_size(context, batch_size)
            session = DecodingSession(self, conditions or Conditions(), num_frames, B, options)
            flat = None if context is None else self.order.flatten(context)
            trace = self.order.generate(
                session, session.layout, flat, options.generator, options.refine_steps
            )
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
