"""VideoTokenizer: clip <-> latents (and codes), with the constants a generator needs.

encode(video_BCTHW in [-1, 1]) -> TokenizerOutput; decode(latents) -> video;
decode_codes(codes) == decode(codes_to_latents(codes)). The tokenizer owns its constants
(latent grid, vocabulary, code depth, latent scale for continuous latents) and saves itself
as a folder: config.json + model.safetensors (no pickle). It knows nothing about training
losses, data loading or the generator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .bottleneck import build_bottleneck
from .cell_encoder import CellConvEncoder, CellEncoder
from .config import TokenizerConfig
from .decoder import Decoder
from .encoder import Encoder

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


@dataclass
class TokenizerOutput:
    latents: torch.Tensor  # B×C×T'×H'×W': quantised, or normalised continuous
    codes: torch.Tensor | None  # B×T'×H'×W' (×D for rvq) or B×T'×L (msvq); None if continuous
    quantizer_loss: torch.Tensor  # scalar, weighted commitment / entropy / KL term
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class Reconstruction:
    video: torch.Tensor  # B×C×T×H×W, the decoded clip
    encoded: TokenizerOutput


@dataclass(frozen=True)
class LatentGrid:
    frames: int
    height: int
    width: int


def build_encoder(config: TokenizerConfig) -> nn.Module:
    encoders = {"conv": Encoder, "cell": CellEncoder, "cell_conv": CellConvEncoder}
    return encoders[config.encoder](config)


class VideoTokenizer(nn.Module):
    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = build_encoder(config)
        self.bottleneck = build_bottleneck(config.bottleneck, config.latent_dim)
        self.decoder = Decoder(config)

    # ---- constants -------------------------------------------------------------------
    @property
    def temporal_compression(self) -> int:
        return self.config.temporal_compression

    @property
    def spatial_compression(self) -> int:
        return self.config.spatial_compression

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def vocab_size(self) -> int:
        """Codebook size; 0 for continuous latents."""
        return self.bottleneck.vocab_size

    @property
    def code_depth(self) -> int:
        return self.bottleneck.code_depth

    @property
    def is_continuous(self) -> bool:
        """True when encode hands out latents, not codes (the bottleneck's `values`)."""
        return self.bottleneck.values == "latents"

    @property
    def scales(self) -> tuple[int, ...] | None:
        """Multi-scale (msvq) side lengths, coarse to fine; None for other bottlenecks."""
        return self.bottleneck.scales

    def latent_grid(self, frames: int, height: int, width: int) -> LatentGrid:
        """Latent grid of a T×H×W clip; raises if the clip size does not fit."""
        r, s = self.temporal_compression, self.spatial_compression
        if frames < 1 or (frames - 1) % r:
            raise ValueError(f"frames={frames}: need 1 + k*{r} frames (temporal_compression)")
        if height % s or width % s:
            raise ValueError(f"height={height}, width={width}: need multiples of {s}")
        return LatentGrid(1 + (frames - 1) // r, height // s, width // s)

    # ---- round trips -----------------------------------------------------------------
    def encode(
        self, video_BCTHW: torch.Tensor, generator: torch.Generator | None = None
    ) -> TokenizerOutput:
        """Video in [-1, 1] -> latents and codes. `generator` feeds continuous sampling."""
        self._check_video(video_BCTHW)
        out = self.bottleneck(self.encoder(video_BCTHW), generator)
        return TokenizerOutput(out.latents, out.codes, out.loss, out.metrics)

    def decode(self, latents_BCTHW: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.bottleneck.to_decoder_input(latents_BCTHW))

    def codes_to_latents(self, codes: torch.Tensor) -> torch.Tensor:
        if self.is_continuous:
            raise TypeError("a continuous tokenizer has no codes; use decode(latents)")
        return self.bottleneck.codes_to_latents(codes.long())

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        return self.decode(self.codes_to_latents(codes))

    def forward(
        self, video_BCTHW: torch.Tensor, generator: torch.Generator | None = None
    ) -> Reconstruction:
        encoded = self.encode(video_BCTHW, generator)
        return Reconstruction(video=self.decode(encoded.latents), encoded=encoded)

    @torch.no_grad()
    def set_latent_statistics(self, video_BCTHW: torch.Tensor) -> None:
        """Continuous only: normalise latents to zero mean, unit variance on these clips."""
        if not self.is_continuous:
            raise TypeError("set_latent_statistics applies to continuous tokenizers only")
        self._check_video(video_BCTHW)
        _, mean, _ = self.bottleneck.raw_latents(self.encoder(video_BCTHW))
        self.bottleneck.set_latent_statistics(mean)

    def _check_video(self, video_BCTHW: torch.Tensor) -> None:
        if video_BCTHW.ndim != 5 or video_BCTHW.shape[1] != self.config.in_channels:
            raise ValueError(
                f"video_BCTHW must be B×{self.config.in_channels}×T×H×W, "
                f"got {tuple(video_BCTHW.shape)}"
            )
        self.latent_grid(*video_BCTHW.shape[2:])

    # ---- persistence -----------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_NAME).write_text(json.dumps(self.config.to_dict(), indent=2))
        state = {name: t.detach().contiguous().cpu() for name, t in self.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_NAME))

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, device: torch.device | str = "cpu"
    ) -> VideoTokenizer:
        directory = Path(directory)
        config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
        for path in (config_path, weights_path):
            if not path.is_file():
                raise FileNotFoundError(f"tokenizer folder {directory} has no {path.name}")
        try:
            config = TokenizerConfig.from_dict(json.loads(config_path.read_text()))
        except (json.JSONDecodeError, TypeError, ValueError) as error:
            raise ValueError(f"corrupt {config_path}: {error}") from error
        try:
            state = load_file(str(weights_path), device=str(device))
        except Exception as error:  # safetensors raises its own error types
            raise ValueError(f"corrupt {weights_path}: {error}") from error
        model = cls(config).to(device)
        model.load_state_dict(state, strict=True)
        return model
