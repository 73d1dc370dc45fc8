"""Write and read video files: mp4 through PyAV, gif through Pillow.

Frames are always uint8 T×H×W×3 RGB arrays. This module knows containers and codecs; it
knows nothing about datasets or models.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

_GIF_COMMENT = "arvideo frame_ms="
VIDEO_SUFFIXES = (".mp4", ".gif")  # what write_video writes


@dataclass
class VideoFrames:
    frames_THWC: np.ndarray  # uint8 RGB
    fps: float


def _check_frames(frames_THWC: np.ndarray) -> np.ndarray:
    frames_THWC = np.asarray(frames_THWC)
    if frames_THWC.dtype != np.uint8 or frames_THWC.ndim != 4 or frames_THWC.shape[-1] != 3:
        raise ValueError(
            f"frames_THWC must be uint8 T×H×W×3, got {frames_THWC.dtype} {frames_THWC.shape}"
        )
    if frames_THWC.shape[0] == 0:
        raise ValueError("frames_THWC holds no frame")
    return frames_THWC


def pad_to_even(frames_THWC: np.ndarray) -> np.ndarray:
    """Repeat the last row / column where H or W is odd (yuv420p needs even sizes)."""
    _, height, width, _ = frames_THWC.shape
    pad = ((0, 0), (0, height % 2), (0, width % 2), (0, 0))
    return np.pad(frames_THWC, pad, mode="edge") if any(p[1] for p in pad) else frames_THWC


def check_video_out(path: str | Path, overwrite: bool = False, argument: str = "out") -> Path:
    """Refuse, before any work is done, a path `write_video` cannot write (its suffix) or
    an existing file (unless `overwrite`); `argument` names the option in the error."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"{argument}={str(path)!r}: the suffix must be .mp4 or .gif")
    if path.is_dir():
        raise IsADirectoryError(f"{argument}={str(path)!r} is a folder, not a video file")
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{argument}={str(path)!r} already exists; pass --overwrite true to replace it"
        )
    return path


def write_video(path: str | Path, frames_THWC: np.ndarray, fps: float = 15.0) -> Path:
    """Write `frames_THWC` to `path`: .mp4 (H.264 via PyAV, padded to even size) or .gif."""
    path = Path(path)
    frames_THWC = _check_frames(frames_THWC)
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        _write_gif(path, frames_THWC, fps)
    elif suffix == ".mp4":
        _write_mp4(path, pad_to_even(frames_THWC), fps)
    else:
        raise ValueError(f"path={str(path)!r}: suffix must be .mp4 or .gif")
    return path


def _write_gif(path: Path, frames_THWC: np.ndarray, fps: float) -> None:
    """Pillow merges identical consecutive frames (summing durations); the frame duration is
    also stored in the comment so `read_video` can expand them back."""
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames_THWC]
    duration_ms = max(1, round(1000 / fps))
    images[0].save(
        path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0,
        optimize=False, disposal=1, comment=f"{_GIF_COMMENT}{duration_ms}",
    )  # fmt: skip


def _write_mp4(path: Path, frames_THWC: np.ndarray, fps: float) -> None:
    import av

    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.height, stream.width = frames_THWC.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for frame in frames_THWC:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def read_video(path: str | Path) -> VideoFrames:
    """All frames of a video file as uint8 T×H×W×3, with its frame rate."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path={str(path)!r} is not a file")
    if path.suffix.lower() == ".gif":
        return _read_gif(path)
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    if not frames:
        raise ValueError(f"path={str(path)!r} holds no decodable video frame")
    return VideoFrames(np.stack(frames), float(rate) if rate else 0.0)


def _read_gif(path: Path) -> VideoFrames:
    """Frames of a gif, merged frames repeated by duration (base: our comment, else the
    shortest frame duration)."""
    from PIL import Image, ImageSequence

    with Image.open(path) as image:
        comment = image.info.get("comment", b"").decode("utf-8", "replace")
        durations, frames = [], []
        for frame in ImageSequence.Iterator(image):
            durations.append(int(frame.info.get("duration", 0)))
            frames.append(np.asarray(frame.convert("RGB")))
    positive = [d for d in durations if d > 0]
    base_ms = min(positive) if positive else 0
    if comment.startswith(_GIF_COMMENT):
        base_ms = int(comment[len(_GIF_COMMENT) :])
    repeats = [max(1, round(d / base_ms)) if base_ms else 1 for d in durations]
    frames_THWC = np.repeat(np.stack(frames), repeats, axis=0)
    return VideoFrames(frames_THWC, 1000.0 / base_ms if base_ms else 0.0)
