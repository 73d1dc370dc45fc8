"""A small real clip kept in the model folder, so a model can be played without its data set.

    MODEL/sample/frames.npy    uint8 T×H×W×3, the first T frames of one val clip
    MODEL/sample/actions.npy   int64 T, the action taken at each frame (games only)
    MODEL/sample/source.json   {"data": "/abs/data/set", "split": "val", "clip": 0, "frames": T}

`arvideo export` writes it from the token data set's pixel source (the trained clip length,
64×64 Pong: 8 frames, 98 KB); `arvideo serve` and `arvideo play` start from it. It is read
without pickle and checked against the model's frame size; a folder without one is valid.
This module knows the files above and nothing about sampling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_DIR = "sample"
MAX_SAMPLE_FRAMES = 64  # a sample is a start, not a data set: refuse anything larger


@dataclass
class SampleClip:
    frames_THWC: np.ndarray  # uint8
    actions_T: np.ndarray | None  # int64, the action taken at each frame
    source: str  # where the frames come from, for people ("val clip 0 of /data/pong")


def save_sample_clip(
    model_dir: str | Path, frames_THWC: np.ndarray, actions_T, data: str | Path, clip: int = 0
) -> Path:
    """Write MODEL/sample/ (replacing an earlier one)."""
    frames_THWC = np.asarray(frames_THWC)
    if frames_THWC.dtype != np.uint8 or frames_THWC.ndim != 4 or frames_THWC.shape[-1] != 3:
        raise ValueError(
            f"frames must be uint8 T×H×W×3, got {frames_THWC.dtype} {frames_THWC.shape}"
        )
    frames_THWC = frames_THWC[:MAX_SAMPLE_FRAMES]
    directory = Path(model_dir) / SAMPLE_DIR
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "frames.npy", frames_THWC)
    (directory / "actions.npy").unlink(missing_ok=True)
    if actions_T is not None:
        actions = np.asarray(actions_T, dtype=np.int64)[: len(frames_THWC)]
        np.save(directory / "actions.npy", actions)
    source = {"data": str(Path(data).resolve()), "split": "val", "clip": clip}
    source["frames"] = len(frames_THWC)
    (directory / "source.json").write_text(json.dumps(source, indent=2) + "\n")
    return directory


def sample_from_data(model_dir: str | Path, data: str | Path, frames: int, clip: int = 0) -> Path:
    """Save the first `frames` frames of val clip `clip` of a pixel data set folder."""
    from arvideo.generate_cli import load_context_clip

    source = load_context_clip(data, clip)
    actions = None if source.actions_T is None else source.actions_T[:frames]
    return save_sample_clip(model_dir, source.frames_THWC[:frames], actions, data, clip)


def ensure_sample_clip(model_dir: str | Path, data: str | Path) -> Path:
    """Save a sample (the trained clip length) when the model folder has none yet."""
    directory = Path(model_dir) / SAMPLE_DIR
    if (directory / "frames.npy").is_file():
        return directory
    from arvideo.model_folder import INFO_NAME, ModelInfo

    info = ModelInfo.from_json(json.loads((Path(model_dir) / INFO_NAME).read_text()))
    return sample_from_data(model_dir, data, info.clip_frames)


def read_sample_clip(model_dir: str | Path, frame_size: tuple[int, int]) -> SampleClip | None:
    """MODEL/sample/ checked against `frame_size` (H, W); None when the folder has none."""
    directory = Path(model_dir) / SAMPLE_DIR
    if not (directory / "frames.npy").is_file():
        return None
    # memory-mapped: the shape is checked before anything is read
    frames = np.load(directory / "frames.npy", mmap_mode="r", allow_pickle=False)
    H, W = frame_size
    if frames.dtype != np.uint8 or frames.shape[1:] != (H, W, 3) or not 1 <= len(frames):
        raise ValueError(
            f"{directory / 'frames.npy'}: expected uint8 T×{H}×{W}×3, got {frames.dtype} "
            f"{frames.shape}"
        )
    if len(frames) > MAX_SAMPLE_FRAMES:
        raise ValueError(f"{directory / 'frames.npy'}: {len(frames)} > {MAX_SAMPLE_FRAMES} frames")
    frames, actions = np.array(frames), None
    if (directory / "actions.npy").is_file():
        actions = np.load(directory / "actions.npy", allow_pickle=False).astype(np.int64)
        if actions.shape != (len(frames),):
            raise ValueError(
                f"{directory / 'actions.npy'}: shape {actions.shape} != ({len(frames)},)"
            )
    return SampleClip(frames, actions, _describe(directory))


def _describe(directory: Path) -> str:
    try:
        source = json.loads((directory / "source.json").read_text())
        return (
            f"sample clip saved with the model: {source['split']} clip {source['clip']} of "
            f"{source['data']}, {source['frames']} frames"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return f"sample clip saved with the model ({directory})"
