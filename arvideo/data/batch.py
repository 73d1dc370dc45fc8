"""The batches that flow from the data module into the models.

Tensor names end in their shape; the one legend of those letters (B batch, C channels,
T frames, H/W height/width, N tokens, D width, V vocabulary, K scales, ...) is the README's
"Shape legend", where every letter has one meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch


@dataclass
class VideoBatch:
    """Clips ready for a model.

    video: B×C×T×H×W float32 in [-1, 1] (channels first, the layout of 3D convolutions).
    actions: B×T int64, the action taken *at* frame t (it leads to frame t+1); None when the
        source has no actions.
    captions: one string per clip, or None.
    meta: one dict per clip (game, episode, start, ...).
    """

    video: torch.Tensor
    actions: torch.Tensor | None = None
    captions: list[str] | None = None
    meta: list[dict] = field(default_factory=list)

    def to(self, device: torch.device | str) -> VideoBatch:
        actions = None if self.actions is None else self.actions.to(device)
        return replace(self, video=self.video.to(device), actions=actions)

    def __len__(self) -> int:
        return self.video.shape[0]


@dataclass
class TokenBatch:
    """Tokenized clips (written by `arvideo encode`, read for generator training).

    codes: B×T×H×W int64 (or B×T×H×W×D for residual VQ, or B×T×L for multi-scale VQ where L
        sums the scales' areas, coarse to fine); None for continuous tokenizers.
    latents: B×T×H×W×C float32 for continuous tokenizers; None otherwise.
    actions: B×T int64 per *latent* frame (see the tokenizer's temporal compression), or None.
    labels: B int64 class ids (e.g. the game), or None.
    """

    codes: torch.Tensor | None = None
    latents: torch.Tensor | None = None
    actions: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    captions: list[str] | None = None
    meta: list[dict] = field(default_factory=list)

    def to(self, device: torch.device | str) -> TokenBatch:
        def move(x):
            return None if x is None else x.to(device)

        return replace(
            self,
            codes=move(self.codes),
            latents=move(self.latents),
            actions=move(self.actions),
            labels=move(self.labels),
        )

    def __len__(self) -> int:
        tokens = self.codes if self.codes is not None else self.latents
        return tokens.shape[0]
