"""Generation from captions, scored by the prompt detector (arvideo/prompt_accuracy.py).

The captions are those of real clips: the val split (combinations seen in training, other
draws and phrasings) and the unseen split (combinations held out of training). Each caption
is generated `seeds` times from nothing, at each guidance setting; accuracy pools the seeds.
Beside the model: the detector on the real clips of the same captions (the ceiling), a
uniform guess per factor (chance), and the model's own clips scored against shuffled
captions (what its outputs would score if it ignored the text). Diversity: the mean absolute
pixel difference between two seeds' clips of one caption, beside that between two real clips
of one combination. Knows the generator API and the detector; nothing about training.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from arvideo import prompt_accuracy as pa
from arvideo.data.prompt_factors import PromptFactors, combination_label, parse_caption


@dataclass(frozen=True)
class Guidance:
    scale: float
    schedule: str  # "constant" or "linear" (a ramp from 1 to scale): lm/guidance.py

    @property
    def tag(self) -> str:
        return f"{self.scale:g} {self.schedule}"


def sweep(scales, schedules) -> list[Guidance]:
    """Every scale with every schedule; scale 1 (no guidance) once."""
    settings = [Guidance(s, k) for s in scales for k in schedules if s != 1.0]
    return ([Guidance(1.0, "constant")] if 1.0 in scales else []) + settings


@dataclass
class Prompts:
    """Captions of real clips, their factors and the clips themselves."""

    split: str
    captions: list[str]
    factors: list[PromptFactors]
    clips_BTHWC: np.ndarray  # uint8: the real clips the captions came from

    def first(self, count: int) -> Prompts:
        """The first `count` captions (what `read_prompts(..., count)` reads)."""
        return Prompts(self.split, self.captions[:count], self.factors[:count],
                       self.clips_BTHWC[:count])  # fmt: skip


def read_prompts(data: str, split: str, count: int) -> Prompts:
    """The first `count` clips of `split` in a prompt-shapes data set."""
    from arvideo.data.reader import ShardDataset, expand_shards

    samples = itertools.islice(ShardDataset(expand_shards(f"{data}/{split}-*.tar"), 0, 1), count)
    samples = list(samples)
    if not samples:
        raise FileNotFoundError(f"{data} has no {split} clips")
    captions = [s["caption"] for s in samples]
    clips = np.stack([s["frames"] for s in samples])
    return Prompts(split, captions, [parse_caption(c) for c in captions], clips)


def conditions(prompts: Prompts, condition: str) -> dict:
    """What the generator is given for each prompt: its caption (`text`) or its
    combination's class id (`label`, prompt_factors.combination_label)."""
    if condition == "text":
        return {"text": prompts.captions}
    if condition == "label":
        return {"label": [combination_label(f) for f in prompts.factors]}
    raise ValueError(f"condition must be 'text' or 'label', got {condition!r}")


def generate(gen, given: dict, guidance: Guidance, seed: int, options: dict,
             num_frames: int) -> np.ndarray:  # fmt: skip
    """B×T×H×W×3 uint8 clips, one per prompt (`given`: `conditions`), from nothing."""
    output = gen(
        num_frames=num_frames, cfg_scale=guidance.scale, cfg_schedule=guidance.schedule,
        seed=seed, progress=False, **given, **options,
    )  # fmt: skip
    return output.video


def round_trip(tokenizer_folder, clips_BTHWC: np.ndarray) -> np.ndarray:
    """The clips encoded and decoded by a tokenizer (what its generators can draw at best)."""
    import torch

    from arvideo.tokenizer import VideoTokenizer
    from arvideo.training.previews import to_uint8_frames

    tokenizer = VideoTokenizer.from_pretrained(tokenizer_folder).eval()
    video_BCTHW = torch.from_numpy(clips_BTHWC).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
    with torch.no_grad():
        encoded = tokenizer.encode(video_BCTHW, torch.Generator().manual_seed(0))
        decoded = tokenizer.decode(encoded.latents).clamp(-1, 1)
    return to_uint8_frames(decoded)


def accuracy_row(prompts: list[PromptFactors], clips: list[np.ndarray]) -> dict:
    """Per-factor and all-factor accuracy of `clips` against `prompts` (a table row)."""
    accuracy = pa.score(prompts, [pa.detect(clip).factors for clip in clips])
    return {"clips": accuracy.clips, **accuracy.per_factor, "all": accuracy.all_factors}


def shuffled(prompts: list[PromptFactors], seed: int) -> list[PromptFactors]:
    order = np.random.default_rng(seed).permutation(len(prompts))
    return [prompts[i] for i in order]


def pixel_difference(a_THWC: np.ndarray, b_THWC: np.ndarray) -> float:
    """Mean absolute difference of two clips, in [0, 1]."""
    return float(np.abs(a_THWC.astype(np.float32) - b_THWC.astype(np.float32)).mean() / 255)


def seed_diversity(samples_RBTHWC: np.ndarray) -> float:
    """Mean pixel difference between every two seeds' clips of the same caption."""
    pairs = itertools.combinations(range(len(samples_RBTHWC)), 2)
    values = [pixel_difference(samples_RBTHWC[i, b], samples_RBTHWC[j, b])
              for i, j in pairs for b in range(samples_RBTHWC.shape[1])]  # fmt: skip
    return float(np.mean(values)) if values else float("nan")


def real_diversity(prompts: Prompts) -> float:
    """Mean pixel difference between two real clips of the same combination."""
    values = [pixel_difference(prompts.clips_BTHWC[i], prompts.clips_BTHWC[j])
              for i, j in itertools.combinations(range(len(prompts.factors)), 2)
              if prompts.factors[i] == prompts.factors[j]]  # fmt: skip
    return float(np.mean(values)) if values else float("nan")


@dataclass
class SettingResult:
    """One paradigm at one guidance setting: accuracy per split, diversity, the clips."""

    guidance: Guidance
    accuracy: dict[str, dict]  # split -> accuracy_row
    ignored_text: dict[str, dict]  # split -> the same clips scored against shuffled captions
    diversity: float
    clips: dict[str, np.ndarray]  # split -> R×B×T×H×W×3, kept for the sample grid
    seconds: float


def evaluate_setting(gen, splits: list[Prompts], guidance: Guidance, seeds: int, options: dict,
                     diversity_prompts: int, first_seed: int = 0,
                     condition: str = "text") -> SettingResult:  # fmt: skip
    import time

    start = time.perf_counter()
    accuracy, ignored, clips = {}, {}, {}
    num_frames = splits[0].clips_BTHWC.shape[1]
    for prompts in splits:
        given = conditions(prompts, condition)
        samples = np.stack([generate(gen, given, guidance, seed, options, num_frames)
                            for seed in range(first_seed, first_seed + seeds)])  # fmt: skip
        pooled = [clip for per_seed in samples for clip in per_seed]
        targets = prompts.factors * seeds
        accuracy[prompts.split] = accuracy_row(targets, pooled)
        ignored[prompts.split] = accuracy_row(shuffled(targets, 0), pooled)
        clips[prompts.split] = samples
    diversity = seed_diversity(clips[splits[0].split][:, :diversity_prompts])
    return SettingResult(guidance, accuracy, ignored, diversity, clips,
                         time.perf_counter() - start)  # fmt: skip
