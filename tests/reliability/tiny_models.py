"""The tiny random generator of arvideo/testing.py, unperturbed, for the reliability suite:
the checks are tested, not the samples."""

from __future__ import annotations

from arvideo.generate import VideoGenerator
from arvideo.lm.model import VideoLM
from arvideo.model_folder import ModelInfo
from arvideo.testing import tiny_info, tiny_lm, tiny_tokenizer
from arvideo.tokenizer import VideoTokenizer


def tiny_parts(seed: int = 0) -> tuple[VideoTokenizer, VideoLM, ModelInfo]:
    return tiny_tokenizer(seed=seed), tiny_lm(seed=seed, perturb=0.0), tiny_info()


def tiny_generator() -> VideoGenerator:
    return VideoGenerator(*tiny_parts())
