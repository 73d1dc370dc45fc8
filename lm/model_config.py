"""VideoLMConfig: what a VideoLM is made of (sizes, order, head, conditioning, defaults).

Checked when built: the head must suit the order, and default sampling settings must be
ones this order and head read (`inapplicable_settings`). Saved as the model's config.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from . import change_gate
from .conditioning import ConditionerConfig
from .heads import head_class
from .heads.base import DENOISER_SETTINGS, FRAME_DENOISING_SETTINGS, SamplingSettings, Values
from .orders import order_class
from .transformer import TransformerConfig


@dataclass
class VideoLMConfig:
    width: int = 256
    depth: int = 8
    heads: int = 8
    mlp_ratio: float = 4.0
    mlp: Literal["swiglu", "gelu"] = "swiglu"
    order: str = "next_block"  # a name in lm/orders/__init__.py ORDERS
    block_rows: int | None = None  # next_block: a band of rows per block (None = frame)
    block_frames: int = 1  # next_block: whole frames per block
    refine: bool = False  # next_block: train with random reveal for S-step refinement
    order_options: dict = field(default_factory=dict)  # extra kwargs (e.g. next_scale)
    head: str = "categorical"  # a name in lm/heads/__init__.py HEADS
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
    # codes: train on a past where up to this share of input tokens per clip are random
    # (corruption.py; targets stay clean), against drift in long rollouts. 0 = off.
    # Frame-denoising orders: the highest noise level of history frames (noise_layouts.py).
    history_corruption: float = 0.0
    # codes: weigh positions whose code changed from the frame before by this in the loss,
    # the others by 1 (change_weights.py; the moving objects are a few % of the codes). 1 = off.
    change_weight: float = 1.0
    # codes: also embed each input code by a learned projection of its decoded pixels (the
    # tokenizer's patch for it; embeddings.CodeEmbedding), filled in when training starts.
    # code_pixel_dim (values per patch) is read from the tokenizer by the trainer.
    code_pixels: bool = False
    code_pixel_dim: int = 0
    # Default sampling settings (SamplingSettings fields; a caller's own settings win):
    # steps and solver for heads that denoise, schedule / uncertainty / stabilization for
    # frame-denoising orders, temperature etc. for all. {} = SamplingSettings' defaults.
    sampling: dict = field(default_factory=dict)

    def __post_init__(self):
        self.grid = tuple(self.grid)
        if len(self.grid) != 3:
            raise ValueError(f"grid must be (T, H, W), got {self.grid}")
        if not order_class(self.order).accepts(head_class(self.head)):  # names checked too
            raise ValueError(
                f"head {self.head!r} cannot predict for order {self.order!r}: frame-denoising "
                f"orders take a denoiser head (velocity), the others take the rest"
            )
        if self.window_frames is not None and self.window_frames < 1:
            raise ValueError(f"window_frames must be >= 1 or None, got {self.window_frames}")
        if not 0 <= self.history_corruption <= 1:
            raise ValueError(f"history_corruption={self.history_corruption}: use [0, 1]")
        denoises = order_class(self.order).denoising
        if self.history_corruption and self.values != "codes" and not denoises:
            raise ValueError(
                f"history_corruption={self.history_corruption} corrupts codes; head "
                f"{self.head!r} predicts {self.values} (noisy latent history is not built yet)"
            )

        if self.change_weight <= 0:
            raise ValueError(f"change_weight={self.change_weight}: use > 0 (1 = off)")
        if self.change_weight != 1 and self.values != "codes":
            raise ValueError(
                f"change_weight={self.change_weight} weighs changed codes; head "
                f"{self.head!r} predicts {self.values}"
            )

        if self.code_pixels and (self.values != "codes" or self.code_depth != 1):
            raise ValueError(
                f"code_pixels embeds plain codes; head {self.head!r} predicts {self.values} "
                f"with code_depth {self.code_depth}"
            )
        if self.code_pixels and not order_class(self.order).uses_value_embedding:
            raise ValueError(f"code_pixels: order {self.order!r} does not embed codes")

        self.sampling_settings().check()

    def sampling_settings(self) -> SamplingSettings:
        """The default SamplingSettings of this model (`sampling`), checked for its kind."""
        known = {f.name for f in fields(SamplingSettings)}
        unknown = set(self.sampling) - known
        if unknown:
            raise ValueError(f"sampling has unknown keys {sorted(unknown)}; known: {sorted(known)}")
        not_here = set(self.sampling) & set(inapplicable_settings(self))
        if not_here:
            raise ValueError(
                f"sampling sets {sorted(not_here)}, which do not apply to order "
                f"{self.order!r} with head {self.head!r}"
            )
        return SamplingSettings(**self.sampling)

    @property
    def values(self) -> Values:
        """What the head predicts: "codes" or "latents"."""
        return head_class(self.head).values

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


def inapplicable_settings(config: VideoLMConfig) -> tuple[str, ...]:
    """SamplingSettings fields a model of this config never reads (heads/base.py)."""
    unused = () if head_class(config.head).values == "latents" else DENOISER_SETTINGS
    if not order_class(config.order).denoising:
        unused += FRAME_DENOISING_SETTINGS
    if change_gate.why_not(config) is not None:
        unused += ("change_threshold",)
    if change_gate.why_not_keep(config) is not None:
        unused += ("keep_threshold",)
    return unused
