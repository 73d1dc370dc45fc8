"""VideoGenerator: frames in, frames out. The generation API over a model folder.

    gen = VideoGenerator.from_pretrained("models/pong").to("cuda")
    out = gen(context=frames_THWC, actions=actions_T, num_frames=32, seed=0)
    out.save("pong.mp4", truth=true_frames_THWC)
    for frame_BHWC in gen.stream(context=frames_THWC, num_frames=32): ...
    session = gen.session(context=frames_THWC); frame_HWC = session.step(action=2)

Conventions (pixel frames, uint8 RGB; T×H×W×3 is one clip, B×T×H×W×3 a batch):

* `num_frames` counts the NEW frames; the output video holds the context first, marked by
  `GenerationOutput.context_frames`. `video` is always batched: B×T×H×W×3 (`clip(i)` gives
  one clip).
* `actions[t]` is the action taken AT frame t (it leads to frame t+1), as in the data sets;
  c context frames + N new frames need c + N - 1 actions (more are ignored). With a
  temporally compressing tokenizer (r > 1), latent frame j is conditioned on the pixel action
  at frame r·(j-1) (the action leading out of latent frame j-1).
* Sampling options left unset take the model's defaults (`VideoLMConfig.sampling`); top_k=0
  asks for every code over a model's default top_k; an option the model never reads (steps
  for a categorical head, stabilization for an order that does not denoise frames) is
  refused, not ignored.
* The frame-denoising orders next_frame_flow and diffusion_forcing stream like the others:
  each frame is denoised in `steps` steps over the KV cache (steps + 1 transformer passes a
  frame with Euler). full_sequence_flow denoises whole clips: `__call__` only, in
  overlapping windows past its clip length (lm/long_video.py; `GenerationOutput.seams`).
* The LM attends to the last `window_frames` latent frames (its config's window, else its
  trained clip length - 1), for the batch call, the stream and the session alike, so the
  three agree for the same seed; a context longer than that window is refused.

Frames are decoded in full at the end of a batch call; `stream` and `session` decode each
new latent frame once with the tokenizer's StreamingDecoder (tokenizer/streaming.py: every
causal conv keeps its last input frames), which computes the same function as the full
decode up to float round-off (bit-identical for the tiny test models on CPU; at the base
sizes within 3e-6, about 1 in 20,000 uint8 values one level off). Sampling runs under
torch.no_grad() and, on CUDA, bf16 autocast. This module knows the tokenizer, the LM and the
model folder; a prepared run lives in generation_run.py, the play session in
world_model_session.py, file formats in video_io.py, the token loop in lm/streaming.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from arvideo.generation_inputs import (
    GenerationRequest,
    as_uint8_frames,
    batched_frames,
    parse_request,
)
from arvideo.generation_run import (
    FrameDecoder,
    GenerationRun,
    encode_frames,
    prepare_run,
    run_from_request,
)
from arvideo.lm.conditioning import Conditions
from arvideo.lm.decoding import GeneratedTokens
from arvideo.lm.long_video import TiledTokens, generate_tiled
from arvideo.model_folder import ModelInfo, load_model_folder
from arvideo.still_cells import keep_still_cells
from arvideo.video_io import write_video
from arvideo.world_model_session import WorldModelSession


@dataclass
class GenerationTimings:
    sample_ms: float  # token sampling (context encoding and prefill included)
    decode_ms: float  # latents -> pixels
    new_frames: int  # pixel frames generated per clip
    forward_passes: int  # transformer calls (CFG halves share one)

    @property
    def ms_per_frame(self) -> float:
        return (self.sample_ms + self.decode_ms) / max(1, self.new_frames)


@dataclass
class GenerationOutput:
    video: np.ndarray  # uint8 B×T×H×W×3, context frames first
    context_frames: int  # how many leading frames of `video` were given, not generated
    fps: float
    codes: torch.Tensor | None  # B×T'×h×w(×depth) latent-frame codes (categorical head)
    latents: torch.Tensor | None  # B×T'×h×w×C (diffusion head)
    timings: GenerationTimings
    # a long video of overlapping windows (full_sequence_flow past its clip length): the
    # first generated pixel frame of each window after the first (arvideo.seams measures them)
    seams: list[int] = field(default_factory=list)

    def clip(self, index: int = 0) -> np.ndarray:
        """One clip, T×H×W×3."""
        return self.video[index]

    def save(
        self, path: str | Path, truth: np.ndarray | torch.Tensor | None = None, fps=None
    ) -> Path:
        """Write .mp4 or .gif: the clips side by side; with `truth` (T×H×W×3 or B×T×H×W×3,
        at most as long as `video`, padded black), truth left of each generated clip."""
        return write_video(path, side_by_side(self.video, truth), fps or self.fps)


def side_by_side(video_BTHWC: np.ndarray, truth=None) -> np.ndarray:
    """Clips tiled left to right (truth | generated per clip) -> T×H×(k·W)×3."""
    B, T = video_BTHWC.shape[:2]
    tiles = []
    if truth is not None:
        truth = batched_frames(as_uint8_frames(truth, "truth"), B, "truth")
        if truth.shape[1] > T or truth.shape[2:] != video_BTHWC.shape[2:]:
            raise ValueError(
                f"truth must be at most {T} frames of {video_BTHWC.shape[2:]}, got "
                f"{tuple(truth.shape[1:])}"
            )
        pad = np.zeros((B, T - truth.shape[1], *truth.shape[2:]), np.uint8)
        truth = np.concatenate([truth, pad], axis=1)
    for b in range(B):
        tiles += ([truth[b]] if truth is not None else []) + [video_BTHWC[b]]
    return np.concatenate(tiles, axis=2)


class VideoGenerator:
    """Tokenizer + VideoLM + ModelInfo; see the module docstring.

    `max_call_bytes` bounds what one `__call__` may hold (it keeps every frame and decodes
    them at the end); `stream` and `session` hold a constant amount and have no cap.
    """

    max_call_bytes: int = 4 * 2**30

    def __init__(self, tokenizer, lm, info: ModelInfo):
        self.tokenizer, self.lm, self.info = tokenizer.eval(), lm.eval(), info
        self.device = next(lm.parameters()).device

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str = "cpu") -> VideoGenerator:
        folder = load_model_folder(path, device)
        return cls(folder.tokenizer, folder.lm, folder.info)

    def to(self, device: torch.device | str) -> VideoGenerator:
        self.tokenizer.to(device)
        self.lm.to(device)
        self.device = torch.device(device)
        return self

    # -- constants --------------------------------------------------------------------------

    @property
    def frames_per_latent(self) -> int:
        return self.tokenizer.temporal_compression

    @property
    def window_frames(self) -> int:
        """Latent frames the LM attends back (see the module docstring)."""
        return self.lm.config.window_frames or max(1, self.lm.config.grid[0] - 1)

    @property
    def max_context_frames(self) -> int:
        """Pixel frames of the longest context (all visible to the first new frame)."""
        return 1 + (self.window_frames - 1) * self.frames_per_latent

    @property
    def can_stream(self) -> bool:
        """Frame-by-frame decoding (stream, session) needs an order that streams."""
        return self.lm.order.streams

    @property
    def bytes_per_frame(self) -> int:
        """What `__call__` holds per pixel frame of one clip when it decodes (a lower bound):
        the decoder's finest conv activations (float32, a conv's input and output), the float
        video and its uint8 copy."""
        H, W = self.info.frame_size
        config = self.tokenizer.config
        p = config.patch_size
        return 2 * config.widths[0] * (H // p) * (W // p) * 4 + H * W * 3 * (4 + 1)

    def check_call_length(self, request: GenerationRequest) -> None:
        """Refuse a `__call__` whose frames would not fit in `max_call_bytes`."""
        r, B = self.frames_per_latent, request.batch_size
        frames = request.context_frames + request.new_latents * r
        need = B * frames * self.bytes_per_frame
        if need > self.max_call_bytes:
            most = self.max_call_bytes // (B * self.bytes_per_frame) - request.context_frames
            raise ValueError(
                f"num_frames: {frames} frames x batch {B} would hold about "
                f"{need / 2**30:.1f} GiB until the decode at the end, more than "
                f"VideoGenerator.max_call_bytes={self.max_call_bytes / 2**30:.1f} GiB; generate "
                f"at most about {max(most, 0)} new frames per call, or use stream() / "
                "session(), which hold a constant amount"
            )

    @property
    def decode_window(self) -> int:
        """Latent frames that determine one decoded frame (causal receptive field; an upper
        bound). Streaming decode does not re-decode it; kept as a property of the model."""
        pads = (getattr(m, "time_pad", 0) for m in self.tokenizer.decoder.modules())
        return 1 + sum(int(p) for p in pads)

    # -- public calls -----------------------------------------------------------------------

    @torch.no_grad()
    def __call__(self, context=None, num_frames: int = 16, progress: bool = True, **options):
        """Generate `num_frames` new frames; options as in `stream`, plus `schedule`
        (frame-denoising orders: autoregressive, pyramid, trapezoid, full_sequence; anything
        but autoregressive samples the whole clip at once), `uncertainty` (the pyramid /
        trapezoid stagger) and `overlap` (full_sequence_flow past its clip length: latent
        frames each window shares with the one before; default half a clip)."""
        started = time.perf_counter()
        request = parse_request(self, context, num_frames, options)
        self.check_call_length(request)
        sampled_tokens = self._sample(request, progress)
        values = sampled_tokens.values
        sampled = time.perf_counter()
        with self._autocast():
            video = self._to_uint8(self.tokenizer.decode(self._latents(values)))
        if request.still_cell is not None:
            video = self._keep_still_cells(video, values, request)
        decoded = time.perf_counter()
        timings = GenerationTimings(
            (sampled - started) * 1e3, (decoded - sampled) * 1e3, num_frames,
            sampled_tokens.forward_passes,
        )  # fmt: skip
        codes = values if self.lm.config.values == "codes" else None
        latents = None if codes is not None else values
        seams = [self.first_pixel_frame(j) for j in sampled_tokens.seams]
        return GenerationOutput(
            video, request.context_frames, self.info.fps, codes, latents, timings, seams
        )

    def _sample(self, request: GenerationRequest, progress: bool) -> _Sampled:
        """Frame by frame when the order streams with these settings; in overlapping
        windows past the clip length when it tiles; else the whole clip in one call."""
        order, clip = self.lm.order, self.lm.config.grid[0]
        if order.stream_refusal(request.settings) is None:
            run = run_from_request(self, request)
            return _Sampled(self._sample_stream(run, progress), run.passes)
        with self._autocast():
            if order.tiles and request.total_latents > clip:
                tiled = _generate_tiled(self, request)
                return _Sampled(tiled.values, tiled.forward_passes, tiled.seams)
            tokens = _generate_whole(self, request)
        return _Sampled(tokens.values, tokens.forward_passes)

    @staticmethod
    def _keep_still_cells(video: np.ndarray, codes: torch.Tensor, request) -> np.ndarray:
        """Generated frames keep the cells whose codes did not change (still_cells.py)."""
        last_real = None if request.frames is None else request.frames[:, -1]
        kept = keep_still_cells(
            torch.from_numpy(video), codes.cpu(), request.context_frames, request.still_cell,
            last_real,
        )  # fmt: skip
        return kept.numpy()

    def first_pixel_frame(self, latent_frame: int) -> int:
        """The first pixel frame latent frame j decodes to (frame 0 alone, then r each)."""
        return 0 if latent_frame == 0 else 1 + (latent_frame - 1) * self.frames_per_latent

    def _sample_stream(self, run: GenerationRun, progress: bool) -> torch.Tensor:
        values = [run.context_values] if run.context_values is not None else []
        bar, task = _progress(progress, "generating", run.new_latents)
        with bar, self._autocast():
            for _ in range(run.new_latents):
                values.append(run.step().values[:, None])
                bar.update(task, advance=1)
        return torch.cat(values, dim=1)

    @torch.no_grad()
    def stream(self, context=None, num_frames: int = 16, **options) -> Iterator[np.ndarray]:
        """Yield each new frame as uint8 B×H×W×3 as soon as it is made.

        options: actions (T or B×T ints), label (int or B ints), text (str or B strs),
        temperature, top_k, top_p, cfg_scale, cfg_schedule, refine_steps, seed or generator,
        batch_size (without context), compile (True: each cached decoding step runs as one
        `torch.compile`d graph, faster after a ~25-40 s compile per step length; every
        order but full_sequence_flow), keep_still_cells (None: wherever it applies;
        still_cells.py); for models that denoise, `steps` (per frame for the
        frame-denoising orders) and `solver` ("euler" or "heun"); for frame-denoising orders
        `stabilization` (the noise level history is shown at, Diffusion Forcing); for
        next-block models of codes `change_threshold` (a cell keeps the frame before's code
        unless the model gives its new one at least this probability; lm/change_gate.py) and
        `keep_threshold` (its mirror: a cell that drew the frame before's code, given it below
        this probability, draws among its other codes). Unset
        sampling options take the model's defaults (`VideoLMConfig.sampling`); an option
        the model never reads is refused. full_sequence_flow does not stream (use
        __call__)."""
        run = self._start(context, num_frames, options)
        decoder = FrameDecoder(self, run.context_values, run.still)
        for _ in range(run.new_latents):
            with self._autocast():
                frames = decoder.push(run.step().values[:, None])
            yield from frames.transpose(1, 0, 2, 3, 4)

    def session(self, context=None, **options) -> WorldModelSession:
        """An interactive, open-ended session for ONE clip (see WorldModelSession): a batch
        of contexts, labels or texts is refused (`step` takes one action and returns one
        frame); use `stream` for batches."""
        if self.frames_per_latent != 1:
            raise ValueError("session needs a tokenizer without temporal compression (r=1)")
        run = prepare_run(self, context, None, options, single_clip=True)
        return WorldModelSession(self, run)

    # -- internals --------------------------------------------------------------------------

    def _start(self, context, num_frames: int | None, options: dict) -> GenerationRun:
        return prepare_run(self, context, num_frames, options)

    def _autocast(self):
        if self.device.type != "cuda":
            return nullcontext()
        return torch.autocast("cuda", dtype=torch.bfloat16)

    def _latents(self, values: torch.Tensor) -> torch.Tensor:
        """LM values (codes B×T×h×w(×d) or latents B×T×h×w×C) -> latents B×C×T×h×w."""
        if self.lm.config.values == "codes":
            return self.tokenizer.codes_to_latents(values)
        return self.lm.to_tokenizer_values(values).permute(0, 4, 1, 2, 3)

    @staticmethod
    def _to_uint8(video_BCTHW: torch.Tensor) -> np.ndarray:
        frames = ((video_BCTHW.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return frames.permute(0, 2, 3, 4, 1).cpu().numpy()


@dataclass
class _Sampled:
    values: torch.Tensor  # LM values of the whole video, context included
    forward_passes: int
    seams: list[int] = field(default_factory=list)  # latent frames where windows start


def _generate_whole(gen: VideoGenerator, request: GenerationRequest) -> GeneratedTokens:
    """All frames in one `VideoLM.generate` call: orders that cannot stream (next-scale,
    blocks of several frames)."""
    context_values = None
    if request.frames is not None:
        context_values = encode_frames(gen, request.frames, request.generator)
    conditions = Conditions(request.latent_actions, request.labels, request.texts)
    options = request.decode_options(gen.window_frames)
    return gen.lm.decode(
        context_values, conditions, request.total_latents, options, request.batch_size
    )


def _generate_tiled(gen: VideoGenerator, request: GenerationRequest) -> TiledTokens:
    """A video longer than the trained clip in overlapping windows (lm/long_video.py)."""
    context_values = None
    if request.frames is not None:
        context_values = encode_frames(gen, request.frames, request.generator)
    conditions = Conditions(request.latent_actions, request.labels, request.texts)
    options = request.decode_options(gen.window_frames)
    return generate_tiled(
        gen.lm, context_values, conditions, request.total_latents, options, request.overlap,
        request.batch_size,
    )  # fmt: skip


def _progress(enabled: bool, description: str, total: int):
    from rich.progress import Progress

    bar = Progress(disable=not enabled, transient=True)
    return bar, bar.add_task(description, total=total)
