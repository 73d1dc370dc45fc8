"""The model folder: everything `VideoGenerator` needs, in one directory, without pickle.

    MODEL/arvideo.json   {"format": 1, "frame_size": [H, W], "fps": 15, "context_frames": c,
                          "clip_frames": T, "game": "Pong" | null, "action_meanings": [...] | null}
    MODEL/tokenizer/     config.json + model.safetensors (VideoTokenizer.save_pretrained)
    MODEL/generator/     config.json + model.safetensors (VideoLM.save_pretrained)

`save_model_folder` writes it (called by `arvideo export`), `load_model_folder` reads it back
strictly: sizes and weight shapes are checked before any model is built (model_limits.py);
a missing folder or file raises FileNotFoundError naming the path; anything
unreadable, inconsistent (tokenizer and generator disagree on grid or vocabulary) or of an
unknown format raises `ModelFolderError` naming the path. No network, no pickle.

This module knows the folder layout and the consistency rules between the two models; it
knows nothing about sampling, decoding or video files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

from arvideo.bridge import lm_fields
from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.model_limits import (
    check_lm_config,
    check_tokenizer_config,
    check_weights_header,
    read_config,
)
from arvideo.tokenizer.config import TokenizerConfig
from arvideo.tokenizer.model import VideoTokenizer

FORMAT = 1
INFO_NAME = "arvideo.json"
TOKENIZER_DIR = "tokenizer"
GENERATOR_DIR = "generator"


class ModelFolderError(ValueError):
    """A model folder exists but cannot be used (corrupt, inconsistent, unknown format)."""


@dataclass
class ModelInfo:
    """What a generator needs to know about the frames its models were trained on."""

    frame_size: tuple[int, int]  # H, W of the pixel frames the tokenizer takes
    fps: float = 15.0  # playback rate of the data (Atari: 60 Hz / frameskip 4)
    context_frames: int = 1  # default number of context frames for generation (pixels)
    clip_frames: int = 16  # pixel frames of a training clip (the LM's trained length)
    game: str | None = None
    action_meanings: list[str] | None = None  # index = action id, e.g. ALE's NOOP, FIRE, ...

    def __post_init__(self):
        self.frame_size = tuple(int(x) for x in self.frame_size)
        if len(self.frame_size) != 2 or min(self.frame_size) < 1:
            raise ValueError(f"frame_size must be (H, W) > 0, got {self.frame_size}")
        if self.fps <= 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        if self.context_frames < 0 or self.clip_frames < 1:
            raise ValueError(
                f"context_frames must be >= 0 and clip_frames >= 1, got "
                f"{self.context_frames}, {self.clip_frames}"
            )
        if self.action_meanings is not None:
            self.action_meanings = [str(m) for m in self.action_meanings]

    def to_json(self) -> dict:
        return {"format": FORMAT, **asdict(self), "frame_size": list(self.frame_size)}

    @classmethod
    def from_json(cls, data: dict) -> ModelInfo:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"format must be {FORMAT}, got {found!r}")
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names - {"format"}
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        return cls(**{k: v for k, v in data.items() if k != "format"})


@dataclass
class ModelFolder:
    tokenizer: VideoTokenizer
    lm: VideoLM
    info: ModelInfo
    path: Path


def check_compatible(tokenizer: VideoTokenizer, lm: VideoLM, info: ModelInfo) -> None:
    """Raise ValueError if the three pieces disagree (grid, vocabulary, actions)."""
    grid = tokenizer.latent_grid(1, *info.frame_size)
    _, H, W = lm.config.grid
    if (grid.height, grid.width) != (H, W):
        raise ValueError(
            f"frame_size {info.frame_size} gives a {grid.height}×{grid.width} latent grid but "
            f"the generator was built for {H}×{W}"
        )
    config = lm.config
    derived = lm_fields(tokenizer, config.values, config.grid)  # what the tokenizer fixes
    if config.values == "codes":
        if tokenizer.is_continuous or derived["vocab_size"] != config.vocab_size:
            raise ValueError(
                f"tokenizer vocabulary {tokenizer.vocab_size} != generator vocab_size "
                f"{config.vocab_size}"
            )
        if derived["code_depth"] != config.code_depth:
            raise ValueError(
                f"tokenizer code depth {tokenizer.code_depth} != generator {config.code_depth}"
            )
    elif not tokenizer.is_continuous or derived["latent_dim"] != config.latent_dim:
        raise ValueError(
            f"a diffusion generator (latent_dim={config.latent_dim}) needs a continuous "
            f"tokenizer of that latent_dim, got latent_dim={tokenizer.latent_dim}"
        )
    meanings = info.action_meanings
    if meanings is not None and len(meanings) != config.num_actions:
        raise ValueError(
            f"{len(meanings)} action_meanings but the generator has num_actions="
            f"{config.num_actions}"
        )


def save_model_folder(
    path: str | Path,
    tokenizer: VideoTokenizer,
    lm: VideoLM,
    info: ModelInfo,
    overwrite: bool = False,
) -> Path:
    """Write the folder (checked for consistency first). Refuses a non-empty folder unless
    `overwrite`."""
    path = Path(path)
    if path.exists() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(f"path={str(path)!r} is not empty (pass overwrite=True)")
    check_compatible(tokenizer, lm, info)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(path / TOKENIZER_DIR)
    lm.save_pretrained(path / GENERATOR_DIR)
    (path / INFO_NAME).write_text(json.dumps(info.to_json(), indent=2) + "\n")
    return path


def load_model_folder(path: str | Path, device: torch.device | str = "cpu") -> ModelFolder:
    """Read a model folder written by `save_model_folder`; both models in eval mode."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"model folder {str(path)!r} does not exist")
    for name in (INFO_NAME, f"{TOKENIZER_DIR}/config.json", f"{GENERATOR_DIR}/config.json"):
        if not (path / name).is_file():
            raise FileNotFoundError(f"model folder {str(path)!r} has no {name}")
    info = _guard(path / INFO_NAME, lambda: ModelInfo.from_json(_read_json(path / INFO_NAME)))
    _guard(path / TOKENIZER_DIR, lambda: check_tokenizer_dir(path / TOKENIZER_DIR))
    _guard(path / GENERATOR_DIR, lambda: check_generator_dir(path / GENERATOR_DIR))
    tokenizer = _guard(
        path / TOKENIZER_DIR, lambda: VideoTokenizer.from_pretrained(path / TOKENIZER_DIR, device)
    )
    lm = _guard(path / GENERATOR_DIR, lambda: VideoLM.from_pretrained(path / GENERATOR_DIR, device))
    _guard(path, lambda: check_compatible(tokenizer, lm, info))
    return ModelFolder(tokenizer.eval(), lm.eval(), info, path)


def check_tokenizer_dir(directory: Path) -> None:
    """Sizes within limits, then the weights header against the config (model_limits.py)."""
    config = read_config(directory / "config.json")
    check_tokenizer_config(directory / "config.json", config)
    tokenizer_config = TokenizerConfig.from_dict(config)
    check_weights_header(directory / "model.safetensors", lambda: VideoTokenizer(tokenizer_config))


def check_generator_dir(directory: Path) -> None:
    config = read_config(directory / "config.json")
    check_lm_config(directory / "config.json", config)
    lm_config = VideoLMConfig(**config)
    check_weights_header(directory / "model.safetensors", lambda: VideoLM(lm_config))


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def _guard(path: Path, load):
    """Run `load`; any failure becomes a ModelFolderError naming `path`."""
    try:
        return load()
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{str(path)!r}: {error}") from error
    except Exception as error:  # safetensors, json and torch raise many types
        raise ModelFolderError(
            f"corrupt or inconsistent model folder at {str(path)!r}: {error}"
        ) from error
