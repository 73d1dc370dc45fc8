"""Small speed and metric probes behind issue 17's and 20's notes (stop 33), 1 thread.

python benchmarks/experiments/speed_probes.py compile_overhead
    a 6-op elementwise function, eager vs torch.compile: µs a call
python benchmarks/experiments/speed_probes.py compile_generator T SIDE
    a training step of the main job's generator size (width 64, depth 4, batch 8, T frames
    of SIDE x SIDE tokens), eager vs compiled blocks, 5 paired rounds
python benchmarks/experiments/speed_probes.py mask_runs T SIDE [ORDER [KEY=VALUE...]]
    the same training step (ORDER: next_block; KEY=VALUE: order options) with its attention
    mask as one masked call vs unmasked runs (lm/mask_runs.py), 5 paired rounds
python benchmarks/experiments/speed_probes.py conv_pad
    forward + backward of a (1,3,3) conv: F.pad + conv vs a padded conv, 15 paired rounds
python benchmarks/experiments/speed_probes.py exact_copy CLIPS
    share of 64 held-out windows (9 real frames, then 7) where copying the last frame
    reproduces the foreground exactly, and copy-last's fg PSNR with and without them
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
import torch.nn.functional as F


def paired(a, b, rounds: int) -> tuple[float, float, float]:
    """Medians of a's and b's seconds and of the per-round ratios a / b."""
    a(), b()
    ta, tb = [], []
    for _ in range(rounds):
        for fn, times in ((a, ta), (b, tb)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    ratio = statistics.median(x / y for x, y in zip(ta, tb))
    return statistics.median(ta), statistics.median(tb), ratio


def compile_overhead() -> None:
    def modulated_norm(x, shift, scale):
        r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
        return torch.addcmul(shift, x * r, 1 + scale)

    compiled = torch.compile(modulated_norm, dynamic=False)
    args = [torch.randn(1, 1, 256) for _ in range(3)]
    eager_s, compiled_s, _ = paired(
        lambda: [modulated_norm(*args) for _ in range(2000)],
        lambda: [compiled(*args) for _ in range(2000)],
        3,
    )
    print(f"eager {eager_s / 2e-3:.1f} µs a call, compiled {compiled_s / 2e-3:.1f} µs a call")


def generator_step(frames: int, side: int, order: str = "next_block", **options):
    """A training step (forward, backward, AdamW) at the main job's generator size (width 64,
    depth 4, batch 8, T frames of SIDE x SIDE tokens) on random codes, as a closure. Frame
    denoisers (`next_frame_flow`, `diffusion_forcing`) get a velocity head on random 4-channel
    latents; `options` are their `order_options` (e.g. teacher_forcing="complete")."""
    from arvideo.data.batch import TokenBatch
    from arvideo.lm.model import VideoLM, VideoLMConfig

    g = torch.Generator().manual_seed(0)
    denoiser = order in ("next_frame_flow", "diffusion_forcing", "full_sequence_flow")
    config = VideoLMConfig(
        width=64, depth=4, heads=4, order=order, vocab_size=0 if denoiser else 1024,
        head="velocity" if denoiser else "categorical", latent_dim=4 if denoiser else 0,
        grid=(frames, side, side), num_actions=6, order_options=options,
    )  # fmt: skip
    lm = VideoLM(config).train()
    grid = (sum(s * s for s in (1, 2, 3, 4, 6, 8)),) if order == "next_scale" else (side, side)
    actions = torch.randint(6, (8, frames), generator=g)
    if denoiser:
        latents = torch.randn(8, frames, side, side, 4, generator=g)
        batch = TokenBatch(latents=latents, actions=actions)
    else:  # next_scale: codes of its 6 scales
        batch = TokenBatch(
            codes=torch.randint(1024, (8, frames, *grid), generator=g), actions=actions
        )
    optimizer = torch.optim.AdamW(lm.parameters(), lr=1e-4)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        lm.loss(batch, torch.Generator().manual_seed(0)).loss.backward()
        optimizer.step()

    return lm, step


def compile_generator(frames: int, side: int) -> None:
    lm, step = generator_step(frames, side)

    def run(compiled: bool) -> None:
        lm.backbone.compile_blocks(compiled)
        step()

    eager_s, compiled_s, ratio = paired(lambda: run(False), lambda: run(True), 5)
    print(f"eager {eager_s:.3f} s, compiled {compiled_s:.3f} s a step: x{ratio:.2f}")


def mask_runs(frames: int, side: int, order: str = "next_block", *options: str) -> None:
    """The same step with its attention mask as one masked sdpa call (as before
    lm/mask_runs.py) and as unmasked runs (now), 5 paired rounds. options: key=value."""
    from arvideo.lm import mask_runs as runs

    _, step = generator_step(frames, side, order, **dict(o.split("=") for o in options))
    detect = runs.MaskRuns.of

    def run(pieces: bool) -> None:
        runs.MaskRuns.of = detect if pieces else staticmethod(lambda mask: None)
        step()

    masked_s, runs_s, ratio = paired(lambda: run(False), lambda: run(True), 5)
    runs.MaskRuns.of = detect
    shape = f"{order} {' '.join(options)} {frames}x{side}x{side}"
    print(f"{shape}: masked {masked_s:.3f} s, runs {runs_s:.3f} s: x{ratio:.2f}")


def conv_pad() -> None:
    for channels, side in ((64, 16), (32, 32), (64, 32)):
        x = torch.randn(8, channels, 3, side, side, requires_grad=True)
        plain = torch.nn.Conv3d(channels, channels, (1, 3, 3))
        padded = torch.nn.Conv3d(channels, channels, (1, 3, 3), padding=(0, 1, 1))
        padded.load_state_dict(plain.state_dict())
        a = lambda x=x, conv=plain: conv(F.pad(x, (1, 1, 1, 1))).sum().backward()  # noqa: E731
        b = lambda x=x, conv=padded: conv(x).sum().backward()  # noqa: E731
        pad_s, conv_s, ratio = paired(a, b, 15)
        print(f"{channels} ch, {side}x{side}: pad + conv {pad_s * 1e3:.2f} ms, padded conv "
              f"{conv_s * 1e3:.2f} ms, x{ratio:.2f}")  # fmt: skip


def exact_copy(data: str) -> None:
    from arvideo.metrics import foreground_psnr
    from arvideo.rollout_score import PSNR_CAP_DB, held_out_windows, training_background

    video = held_out_windows(data, 16, 64).video_BCTHW
    truth = video[:, :, 9:]
    fg = foreground_psnr(truth, video[:, :, 8:9].expand_as(truth), training_background(data))
    exact = torch.isinf(fg)
    capped = fg.clamp(max=PSNR_CAP_DB).nanmean(0)
    others = torch.where(exact, torch.nan, fg).nanmean(0)
    print("exact share h1-7:", [round(float(v), 2) for v in exact.float().mean(0)])
    print("copy-last fg (capped mean):", [round(float(v), 1) for v in capped])
    print("copy-last fg without exact frames:", [round(float(v), 1) for v in others])


if __name__ == "__main__":
    torch.set_num_threads(1)
    probe, args = sys.argv[1], sys.argv[2:]
    if probe == "compile_generator":
        compile_generator(int(args[0]), int(args[1]))
    elif probe == "mask_runs":
        mask_runs(int(args[0]), int(args[1]), *args[2:])
    elif probe == "exact_copy":
        exact_copy(args[0])
    else:
        {"compile_overhead": compile_overhead, "conv_pad": conv_pad}[probe]()
