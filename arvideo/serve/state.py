"""What the server holds for its whole life: the model, the start clip, the session slots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arvideo.generate import VideoGenerator
from arvideo.serve.context import StartClip
from arvideo.serve.files import ResultsFolder
from arvideo.serve.frames import FrameFormat
from arvideo.serve.keys import key_bindings
from arvideo.serve.play_session import PlaySettings
from arvideo.serve.slots import SessionSlots


@dataclass
class ServeState:
    gen: VideoGenerator  # shared: each session keeps its own caches, the weights are read-only
    model_dir: Path
    start: StartClip
    slots: SessionSlots
    frame_format: FrameFormat = "raw"
    results: ResultsFolder | None = None
    defaults: PlaySettings | None = None  # a copy goes to each session

    def model_summary(self) -> dict:
        """What every page shows about the model (JSON)."""
        info, config = self.gen.info, self.gen.lm.config
        return {
            "model": self.model_dir.name,
            "game": info.game,
            "frame_size": list(info.frame_size),
            "fps": info.fps,
            "order": config.order,
            "head": config.head,
            "diffusion": config.values == "latents",  # denoising steps apply
            "actions": info.action_meanings or [],
            "keys": key_bindings(info.action_meanings),
            "labels": config.num_labels,
            "text": config.text_encoder is not None,
            "start_clip": self.start.source,
            "frame_format": self.frame_format,
            "max_sessions": self.slots.limit,
            "results": self.results is not None,
        }
