"""`arvideo bench tokenizer`: bottlenecks compared on the same Pong shards and budget.

For each bottleneck kind, a tokenizer is trained from configs/tokenizer/<prefix>_<kind>.yaml
(`pong_` for the full budget, the tiny `debug_` models for the smoke budget) through
`train_module`, saved as a tokenizer folder under the run folder (reusable by the paradigm
benchmark), and measured on the held-out episodes (val split) by `evaluate_tokenizer`. This
module knows the benchmark recipe and the result layout; the metrics themselves come
from arvideo.metrics, arvideo.pong_objects and arvideo.tokenizer.CodebookUsage.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from arvideo.bench.report import (
    Column,
    command_line,
    machine_info,
    markdown_table,
    run_header,
    write_png,
    write_results,
)
from arvideo.metrics import (
    foreground_psnr,
    median_background,
    object_error,
    psnr,
    ssim,
    video_to_frames,
)
from arvideo.tokenizer import CodebookUsage, StabilityMeter, TokenStability, VideoTokenizer
from arvideo.training.previews import frame_grid, to_uint8_frames
from arvideo.training.tokenizer_runs import (
    CONFIG_DIR,
    TokenizerBudget,
    TrainedBottleneck,
    load_config,
    load_trained,
    train_bottleneck,
    val_clips,
)

PSNR_CAP_DB = 100.0  # a perfectly reconstructed frame has infinite PSNR; averaged as this


BUDGETS = {
    # seconds on a busy 2-core machine: checks the plumbing, not the quality
    "smoke": TokenizerBudget("debug", 1, None, 2, 4, batch_size=2, crop_frames=1, eval_frames=2),
    "full": TokenizerBudget("pong", None, 15.0, 256, 256),
}


@dataclass
class TokenizerResult:
    kind: str
    parameters: int
    steps: int
    train_s: float
    psnr: float  # mean over val frames, dB (peak 1)
    ssim: float
    foreground_psnr: float  # mean over val frames with foreground, dB, inf capped
    ball_hit: float  # share of frames with the ball within ±1 px (or absent in both)
    left_paddle_hit: float
    right_paddle_hit: float
    ball_visible_hit: float  # the same over frames where the real ball is visible (issue target)
    left_paddle_visible_hit: float
    right_paddle_visible_hit: float
    fraction_used: float | None  # codebook usage on val (mean over groups); None: continuous
    dead_codes: int | None  # codes never used on val (sum over groups)
    perplexity: float | None  # mean over groups
    encode_fps: float  # frames/s
    decode_fps: float
    eval_frames: int
    stable_kept: float  # share of cells with unchanged pixels that keep their code (latent)
    codes_per_patch: float  # distinct codes per distinct cell content (1 = no flicker)
    background_codes: int  # distinct codes of the commonest cell (the empty court)
    tokenizer_dir: str  # saved tokenizer folder (config.json + model.safetensors)
    reused: bool = False  # loaded from an earlier run's folder (`reuse`), not trained here
    psnr_per_frame: list[float] = field(default_factory=list)  # by position in the clip
    usage_groups: dict = field(default_factory=dict)  # per quantizer group (rvq depth, scale)


def eval_frames(tokenizer: VideoTokenizer, clip_length: int) -> int:
    """Longest clip prefix the tokenizer accepts: 1 + k * temporal_compression frames."""
    r = tokenizer.temporal_compression
    return 1 + (clip_length - 1) // r * r


@dataclass
class Reconstructed:
    video_BCTHW: torch.Tensor  # in [-1, 1]
    codes: list[torch.Tensor]  # per batch; empty for continuous tokenizers
    encode_s: float  # wall time of all encode calls
    decode_s: float
    stability: TokenStability  # do still cells keep their code (latent)?


@torch.no_grad()
def reconstruct(
    tokenizer: VideoTokenizer, video_BCTHW: torch.Tensor, batch_size: int = 8
) -> Reconstructed:
    """Encode and decode in batches, timing both (so speed costs no extra passes)."""
    videos, codes, encode_s, decode_s = [], [], 0.0, 0.0
    generator = torch.Generator().manual_seed(0)
    meter = StabilityMeter.of(tokenizer)
    for chunk in video_BCTHW.split(batch_size):
        start = time.perf_counter()
        encoded = tokenizer.encode(chunk, generator)
        middle = time.perf_counter()
        videos.append(tokenizer.decode(encoded.latents).clamp(-1, 1))
        encode_s, decode_s = encode_s + middle - start, decode_s + time.perf_counter() - middle
        meter.update(chunk, encoded.codes, None if encoded.codes is not None else encoded.latents)
        if encoded.codes is not None:
            codes.append(encoded.codes)
    return Reconstructed(torch.cat(videos), codes, encode_s, decode_s, meter.result())


def usage_summary(tokenizer: VideoTokenizer, codes: list[torch.Tensor]) -> dict:
    if tokenizer.is_continuous or not codes:
        return {"fraction_used": None, "dead_codes": None, "perplexity": None, "groups": {}}
    usage = CodebookUsage(tokenizer.vocab_size, len(codes), tokenizer.code_depth, tokenizer.scales)
    for batch in codes:
        usage.update(batch)
    groups = usage.report()
    if "all_scales" in groups:  # msvq: one codebook shared by the scales
        shared = groups["all_scales"]
        fraction, dead, perplexity = shared.fraction_used, shared.dead_codes, shared.perplexity
    else:  # one codebook per group (rvq depth): dead codes add up
        fraction = float(np.mean([g.fraction_used for g in groups.values()]))
        dead = int(sum(g.dead_codes for g in groups.values()))
        perplexity = float(np.mean([g.perplexity for g in groups.values()]))
    return {
        "fraction_used": fraction, "dead_codes": dead, "perplexity": perplexity,
        "groups": {name: asdict(g) for name, g in groups.items()},
    }  # fmt: skip


def _capped_mean(values: torch.Tensor) -> float:
    values = values.clamp(max=PSNR_CAP_DB)
    return float(values.nanmean()) if not values.isnan().all() else float("nan")


def evaluate_tokenizer(
    tokenizer: VideoTokenizer, video_BCTHW: torch.Tensor, background_CHW: torch.Tensor
) -> tuple[dict, torch.Tensor]:
    """All quality and speed numbers of one tokenizer on the val clips; and the reconstruction.

    Encode / decode frames/s are measured on these clips, batches of 8, first batch included.
    """
    tokenizer.eval()
    out = reconstruct(tokenizer, video_BCTHW)
    fake_BCTHW, frames = out.video_BCTHW, video_BCTHW.shape[0] * video_BCTHW.shape[2]
    psnr_BT = psnr(video_BCTHW, fake_BCTHW).clamp(max=PSNR_CAP_DB)
    hits = object_error(video_to_frames(video_BCTHW), video_to_frames(fake_BCTHW), tolerance_px=1.0)
    usage = usage_summary(tokenizer, out.codes)
    numbers = {
        "psnr": float(psnr_BT.mean()),
        "ssim": float(ssim(video_BCTHW, fake_BCTHW).mean()),
        "foreground_psnr": _capped_mean(foreground_psnr(video_BCTHW, fake_BCTHW, background_CHW)),
        "ball_hit": hits.ball,
        "left_paddle_hit": hits.left_paddle,
        "right_paddle_hit": hits.right_paddle,
        "ball_visible_hit": hits.visible["ball"],
        "left_paddle_visible_hit": hits.visible["left_paddle"],
        "right_paddle_visible_hit": hits.visible["right_paddle"],
        "fraction_used": usage["fraction_used"],
        "dead_codes": usage["dead_codes"],
        "perplexity": usage["perplexity"],
        "usage_groups": usage["groups"],
        "eval_frames": hits.frames,
        "psnr_per_frame": psnr_BT.mean(0).tolist(),
        "encode_fps": frames / out.encode_s,
        "decode_fps": frames / out.decode_s,
        "stable_kept": out.stability.kept,
        "codes_per_patch": out.stability.codes_per_patch,
        "background_codes": out.stability.codes_for_commonest_patch,
    }
    return numbers, fake_BCTHW


def comparison_grid(real_BCTHW: torch.Tensor, fakes: dict[str, torch.Tensor]) -> np.ndarray:
    """One val clip: the real frames on top, then one row per bottleneck (in `fakes` order)."""
    rows = [to_uint8_frames(real_BCTHW[:1])[0]]
    rows += [to_uint8_frames(fake[:1])[0] for fake in fakes.values()]
    return frame_grid(rows)


def bench_tokenizer(
    data: str = "data/pong",
    budget: Literal["smoke", "full"] = "smoke",
    bottlenecks: str = "vq,fsq,lfq,rvq,msvq,continuous",
    out: str = "benchmarks/results",
    run_dir: str = "runs/bench_tokenizer",
    config_dir: str | None = None,
    seed: int = 0,
    progress: bool = False,
    reuse: bool = False,
) -> dict:
    """Train one tokenizer per bottleneck on the same shards and budget; compare on val.

    Args:
        data: clip data set folder (dataset.json, train-*.tar, val-*.tar).
        budget: 'smoke' (tiny debug models, 1 step: checks the plumbing) or 'full'
            (the pong_<kind>.yaml models, ~15 minutes each).
        bottlenecks: comma-separated kinds: vq, fsq, lfq, rvq, msvq, continuous.
        out: folder of tokenizer.{md,json,png}.
        run_dir: training logs and the trained tokenizer folders (<run_dir>/<kind>/tokenizer).
        config_dir: folder of the tokenizer YAMLs (default: the repository's configs/tokenizer).
        seed: weights and data order.
        progress: show training progress bars.
        reuse: measure the tokenizers an earlier run saved under `run_dir` (with its steps
            and wall time) instead of training them again; kinds without one are trained.
            Bottlenecks trained in separate, parallel runs then share one table and picture.
    """
    if budget not in BUDGETS:
        raise ValueError(f"budget={budget!r}; use one of {sorted(BUDGETS)}")
    kinds = [k.strip() for k in bottlenecks.split(",") if k.strip()]
    if not kinds:
        raise ValueError(f"bottlenecks={bottlenecks!r} names no bottleneck")
    plan = BUDGETS[budget]
    configs = Path(config_dir) if config_dir else CONFIG_DIR
    loaded = {kind: load_config(kind, plan.config_prefix, configs) for kind in kinds}
    background_CHW = median_background(val_clips(data, 1, plan.background_clips, "train"))
    results, fakes, real = [], {}, None
    for kind in kinds:
        trained = load_trained(Path(run_dir) / kind, kind) if reuse else None
        if trained is None:
            trained = train_bottleneck(
                kind, loaded[kind], data, plan, Path(run_dir), seed, progress
            )
        result, fake, real = measure_bottleneck(trained, data, plan, background_CHW)
        results.append(result)
        fakes[kind] = fake
    return write_tokenizer_results(results, plan, budget, data, Path(out), real, fakes)


def measure_bottleneck(trained: TrainedBottleneck, data, plan, background_CHW):
    tokenizer = trained.tokenizer
    real = val_clips(data, None, plan.eval_clips)
    real = real[:, :, : eval_frames(tokenizer, min(real.shape[2], plan.eval_frames or 10**9))]
    numbers, fake = evaluate_tokenizer(tokenizer, real, background_CHW)
    result = TokenizerResult(
        kind=trained.kind, parameters=sum(p.numel() for p in tokenizer.parameters()),
        steps=trained.steps, train_s=trained.train_s, tokenizer_dir=str(trained.folder),
        reused=trained.reused, **numbers,
    )  # fmt: skip
    return result, fake, real


COLUMNS = [
    Column("kind", "bottleneck"),
    Column("psnr", "PSNR dB"),
    Column("ssim", "SSIM", 3),
    Column("foreground_psnr", "fg PSNR dB"),
    Column("ball_visible_hit", "ball ±1px (visible)", 3),
    Column("left_paddle_visible_hit", "left pad ±1px (visible)", 3),
    Column("right_paddle_visible_hit", "right pad ±1px (visible)", 3),
    Column("ball_hit", "ball ±1px or both absent", 3),
    Column("stable_kept", "still cells keep code", 3),
    Column("codes_per_patch", "codes per patch", 2),
    Column("background_codes", "background codes"),
    Column("fraction_used", "codes used", 3),
    Column("dead_codes", "dead codes"),
    Column("perplexity", "perplexity", 1),
    Column("encode_fps", "encode fr/s", 0),
    Column("decode_fps", "decode fr/s", 0),
    Column("parameters", "params"),
    Column("steps", "steps"),
    Column("train_s", "train s", 0),
    Column("reused", "reused"),
]


def write_tokenizer_results(results, plan, budget, data, out, real, fakes) -> dict:
    machine = machine_info()
    command = command_line()
    settings = {"budget": budget, "data": data, **asdict(plan)}
    payload = {
        "benchmark": "tokenizer",
        "command": command,
        "machine": machine,
        "budget": settings,
        "results": [asdict(r) for r in results],
    }
    image = write_png(out / "tokenizer.png", comparison_grid(real, fakes))
    rows = [asdict(r) for r in results]
    markdown = "\n\n".join(
        [
            run_header("Tokenizer benchmark", command, machine, settings),
            "Held-out episodes (val split). PSNR/SSIM: mean per frame. fg PSNR: only pixels that "
            "differ from the data set's median background frame (inf capped at "
            f"{PSNR_CAP_DB:g} dB). Object hits: ball and paddles located by colour in the real and "
            "reconstructed frame, share of frames within ±1 px: over frames where the real object "
            "is visible (the target), and over all frames counting agreement on absence. Codebook "
            "usage on the val codes.",
            markdown_table(rows, COLUMNS),
            f"![real vs reconstructed]({image.name})  \nRows: real, then {', '.join(fakes)}.",
            "Tokenizer folders: " + ", ".join(f"`{r.tokenizer_dir}`" for r in results),
        ]
    )
    paths = write_results(out, "tokenizer", payload, markdown)
    payload["paths"] = {**{k: str(v) for k, v in paths.items()}, "png": str(image)}
    return payload
