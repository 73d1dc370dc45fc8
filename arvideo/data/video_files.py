"""Any folder of video files -> clip shards (PyAV decode, centre crop, resize, fps subsample).

Each file is one episode (so a file never straddles train and val). Files are taken in
sorted order, so the same folder gives the same shards. No actions, no captions. This
module knows containers and frame rates; clips and shards are clips.py's job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arvideo.video_io import VideoFrames, read_video

from .atari import Resample, resize_frame
from .clips import CollectSummary, DatasetWriter, Episode, progress_bar, summarize, val_episode_ids

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".gif", ".m4v")


def find_videos(folder: Path, suffixes: tuple[str, ...] = VIDEO_SUFFIXES) -> list[Path]:
    if not folder.is_dir():
        raise NotADirectoryError(f"folder={str(folder)!r} is not a directory")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


def center_crop_square(frame_HWC: np.ndarray) -> np.ndarray:
    height, width = frame_HWC.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return frame_HWC[top : top + side, left : left + side]


@dataclass
class FrameSource:
    fps: float  # 0 when the container does not say
    frames: Iterator[np.ndarray]  # uint8 H×W×3, decoded lazily


def open_frames(path: Path) -> FrameSource:
    """Frames of a file, streamed by PyAV (gifs through read_video, which undoes merging)."""
    if path.suffix.lower() == ".gif":
        video = read_video(path)
        return FrameSource(video.fps, iter(video.frames_THWC))
    import av

    container = av.open(str(path))
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate

    def frames() -> Iterator[np.ndarray]:
        with container:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")

    return FrameSource(float(rate) if rate else 0.0, frames())


def decode_video(
    path: Path, size: int, fps: float | None, crop: bool, resample: Resample
) -> VideoFrames:
    """The frames of one file at `fps` (never upsampled), cropped and resized as they are
    decoded, so a long high-resolution file never sits in memory whole."""
    source = open_frames(path)
    step = 1.0
    if fps is not None and source.fps > fps:
        step = source.fps / fps
    frames = []
    for index, frame in enumerate(source.frames):
        if index < round(len(frames) * step):  # keep frame k*step for k = 0, 1, ...
            continue
        image = center_crop_square(frame) if crop else frame
        frames.append(resize_frame(np.ascontiguousarray(image), size, resample))
    frames_THWC = np.stack(frames) if frames else np.zeros((0, size, size, 3), np.uint8)
    return VideoFrames(frames_THWC, source.fps / step)


def collect_videos(
    folder: str,
    out: str = "data/videos",
    size: int = 64,
    fps: float | None = None,
    clip_length: int = 16,
    stride: int | None = None,
    crop: bool = True,
    resample: Resample = "box",
    val_fraction: float = 0.1,
    shard_size: int = 256,
    progress: bool = True,
) -> CollectSummary:
    """Convert every video file under FOLDER into clip shards + dataset.json.

    Args:
        folder: folder searched recursively for video files (.mp4 .mkv .webm .avi .mov .gif).
        out: output folder; must not hold a dataset yet.
        size: frames are resized to size×size.
        fps: subsample to this frame rate (None keeps the source rate; never upsamples).
        clip_length: frames per clip.
        stride: frames between clip starts (default clip_length: no overlap).
        crop: centre-crop to a square before resizing (else the aspect ratio changes).
        resample: PIL resampling filter.
        val_fraction: fraction of files (the last ones, sorted) that go to the val split.
        shard_size: clips per shard.
        progress: show a progress bar.
    """
    files = find_videos(Path(folder))
    if not files:
        raise FileNotFoundError(f"folder={folder!r} holds no video file ({VIDEO_SUFFIXES})")
    info = {
        "source": "videos",
        "size": [size, size],
        "seed": None,
        "action_space": None,
        "sample_keys": ["frames.npy", "meta.json"],
        "files": [str(p.relative_to(folder)) for p in files],
    }
    writer = DatasetWriter(
        out, info, val_episode_ids(len(files), val_fraction), clip_length,
        stride or clip_length, shard_size,
    )  # fmt: skip
    bar, task = progress_bar(progress, "videos: files", len(files))
    with bar, writer:
        for index, path in enumerate(files):
            video = decode_video(path, size, fps, crop, resample)
            meta = {"source": "videos", "file": str(path.relative_to(folder)), "fps": video.fps}
            writer.add_episode(Episode(index, video.frames_THWC, {}, meta))
            bar.update(task, advance=1)
    return summarize(writer)
