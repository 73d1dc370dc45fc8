"""`arvideo generate`: continue a real clip (or a video file) with a model folder.

The context comes from clip `clip` of a data set folder's val split (with its true actions,
so the rest of the clip is the ground truth), or from the first frames of a video file. It
writes the truth | generated grid when the truth is known, and prints where it wrote, the
speed and the PSNR of the generated frames against the truth. Knows data sets and files;
the generation itself is `VideoGenerator`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass
class ContextClip:
    frames_THWC: np.ndarray  # uint8, the whole clip (context + truth)
    actions_T: np.ndarray | None  # int64, the action taken at each frame


@dataclass
class GenerateSummary:
    out: str
    frames: int  # frames written per clip (context included)
    psnr_db: float | None  # mean over generated frames that have a truth; None without one
    ms_per_frame: float


def load_context_clip(path: str | Path, clip: int = 0) -> ContextClip:
    """Clip number `clip` of a data set folder's val split, or a video file's frames."""
    path = Path(path)
    if path.is_file():
        from arvideo.video_io import read_video

        return ContextClip(read_video(path).frames_THWC, None)
    if not path.is_dir():
        raise FileNotFoundError(f"context={str(path)!r} is neither a data set folder nor a file")
    from arvideo.data.datamodule import VideoDataModule

    # one context clip: an interrupted collection serves as well as a finished one
    module = VideoDataModule(
        path=str(path), batch_size=1, shuffle_buffer=0, rank=0, world_size=1, allow_incomplete=True
    )
    for index, sample in enumerate(module.dataset("val")):
        if index == clip:
            actions = sample.get("actions")
            return ContextClip(
                np.asarray(sample["frames"]),
                None if actions is None else np.asarray(actions, dtype=np.int64),
            )
    raise ValueError(f"clip={clip}: the val split of {str(path)!r} has fewer clips")


def mean_psnr(truth_THWC: np.ndarray, fake_THWC: np.ndarray) -> float:
    """Mean PSNR over frames, an identical frame counted as PSNR_CAP_DB, not infinity (a
    still stretch of the game copied exactly would make the mean inf)."""
    from arvideo.metrics import frames_to_video, psnr
    from arvideo.rollout_score import PSNR_CAP_DB

    values = psnr(frames_to_video(torch.from_numpy(truth_THWC)), frames_to_video(fake_THWC))
    return float(values.clamp(max=PSNR_CAP_DB).mean())


def generate(
    model: str | None = None,
    context: str | None = None,
    clip: int = 0,
    context_frames: int | None = None,
    num_frames: int = 16,
    out: str = "generated.mp4",
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    cfg_scale: float = 1.0,
    steps: int | None = None,
    solver: str | None = None,
    schedule: str | None = None,
    uncertainty: int | None = None,
    stabilization: float | None = None,
    change_threshold: float | None = None,
    keep_threshold: float | None = None,
    overlap: int | None = None,
    keep_still_cells: bool | None = None,
    refine_steps: int = 1,
    compile: bool = False,
    label: int | None = None,
    text: str | None = None,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    overwrite: bool = False,
) -> GenerateSummary:
    """Generate frames with a model folder and write them to a video file.

    Args:
        model: model folder (arvideo.json, tokenizer/, generator/); required.
        context: data set folder (a val clip with its actions) or a video file; None starts
            from nothing.
        clip: index of the val clip used as context and truth.
        context_frames: frames of the clip given as context (default: the model's).
        num_frames: new frames to generate.
        out: output .mp4 or .gif (truth | generated when the truth is known).
        temperature: sampling temperature (0 = argmax); default: the model's (else 1).
        top_k: keep the k most likely codes (categorical head; 0 = every code); default:
            the model's (the main job's models: 1, greedy).
        top_p: nucleus sampling threshold (categorical head).
        cfg_scale: classifier-free guidance scale (1 = off).
        steps: denoising steps (diffusion head: per token; frame-denoising orders: per
            frame); default: the model's. Refused for a categorical head.
        solver: euler or heun (models that denoise); default: the model's.
        schedule: frame-denoising orders: autoregressive, pyramid, trapezoid or
            full_sequence; default: the model's.
        uncertainty: rows between neighbouring frames' starts (pyramid, trapezoid).
        stabilization: frame-denoising orders: the noise level history is shown at.
        change_threshold: next-block models of codes: a generated cell keeps the frame
            before's code unless the model gives its new code at least this probability
            (0 = off; lm/change_gate.py); default: the model's.
        keep_threshold: next-block models of depth-1 codes: a cell that drew the frame
            before's code, to which the model gives less than this probability, draws among
            its other codes instead (0 = off; lm/change_gate.py); default: the model's.
        overlap: full_sequence_flow past its clip length: latent frames each window
            shares with the one before (default half a clip).
        keep_still_cells: generated cells whose codes did not change show the frame
            before's pixels (cell-local tokenizers; default: wherever it applies; false
            decodes every cell).
        refine_steps: next-block refinement steps per block.
        compile: run each cached decoding step as one `torch.compile`d graph (every order
            but full_sequence_flow): ~1.3-1.6x faster one-token steps on CPU after ~25-40 s of
            compile per step length (benchmarks/results/peers.md).
        label: class label id, for label-conditioned models.
        text: caption, for text-conditioned models.
        seed: random seed.
        device: cpu or cuda.
        progress: show a progress bar.
        overwrite: replace `out` when it exists.
    """
    from arvideo.generate import VideoGenerator
    from arvideo.video_io import check_video_out

    if model is None:
        raise ValueError("model is required: --model DIR (a model folder)")
    check_video_out(out, overwrite)  # before the minutes of generation, not after
    gen = VideoGenerator.from_pretrained(model, device)
    options = dict(
        temperature=temperature, top_k=top_k, top_p=top_p, cfg_scale=cfg_scale,
        refine_steps=refine_steps, label=label, text=text, seed=seed, compile=compile,
    )  # fmt: skip
    sampling = dict(
        steps=steps, solver=solver, schedule=schedule, uncertainty=uncertainty,
        stabilization=stabilization, change_threshold=change_threshold,
        keep_threshold=keep_threshold, overlap=overlap,
        keep_still_cells=keep_still_cells,
    )  # fmt: skip
    options.update({name: value for name, value in sampling.items() if value is not None})
    truth = None
    if context is not None:
        source = load_context_clip(context, clip)
        c = min(context_frames or gen.info.context_frames, len(source.frames_THWC))
        c = min(c, gen.max_context_frames)
        truth = source.frames_THWC
        options["context"] = truth[:c]
        if source.actions_T is not None and gen.lm.config.num_actions:
            options["actions"] = _pad_actions(source.actions_T, c + num_frames - 1)
    result = gen(num_frames=num_frames, progress=progress, **options)
    path = result.save(out, truth=None if truth is None else truth[: result.video.shape[1]])
    score = None
    if truth is not None and len(truth) > result.context_frames:
        end = min(len(truth), result.video.shape[1])
        score = mean_psnr(
            truth[result.context_frames : end], result.clip(0)[result.context_frames : end]
        )
    summary = GenerateSummary(str(path), result.video.shape[1], score, result.timings.ms_per_frame)
    print(_report(summary))
    return summary


def _pad_actions(actions_T: np.ndarray, needed: int) -> np.ndarray:
    """The clip's actions, padded with action 0 (NOOP in ALE) beyond the clip's end."""
    if len(actions_T) >= needed:
        return actions_T[:needed]
    print(f"note: the clip has {len(actions_T)} actions; padding to {needed} with action 0")
    return np.concatenate([actions_T, np.zeros(needed - len(actions_T), np.int64)])


def _report(summary: GenerateSummary) -> str:
    psnr = "n/a (no truth)" if summary.psnr_db is None else f"{summary.psnr_db:.2f} dB"
    return (
        f"wrote {summary.out} ({summary.frames} frames, {summary.ms_per_frame:.1f} ms/frame); "
        f"PSNR vs truth: {psnr}"
    )
