"""`arvideo serve` speed: steps/s measured in the play page against `session.step` alone.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/serve.py --model outputs/demo/model \
        --seconds 20 [--soak_minutes 10]

1. `session.step` in this process (1 thread), the floor of a step's cost;
2. frame encoding: raw RGB vs PNG (bytes, ms);
3. the page: `arvideo serve` in a subprocess (1 thread), Debian's Chromium (Playwright) holding
   ArrowUp for `--seconds`; steps/s from the page's own counter (window.arvideo) and from
   frames / wall time; the server's step time from each frame's header;
4. optional soak: keys held (switching every 10 s) for `--soak_minutes`, the server's RSS
   sampled every minute (bounded in time).
Writes benchmarks/results/serve.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import torch

from arvideo.generate import VideoGenerator
from arvideo.serve.context import start_clip
from arvideo.serve.frames import FrameMeta, encode_frame

OUT = Path(__file__).parent / "results" / "serve.md"


def step_alone(model: str, steps: int) -> float:
    """Median ms of session.step (after warm-up), as the server runs it."""
    gen = VideoGenerator.from_pretrained(model)
    clip = start_clip(Path(model), gen.info.frame_size, None, 0)
    context = None if clip.frames_THWC is None else clip.frames_THWC[:1]
    session = gen.session(context=context, temperature=1.0, seed=0)
    if context is None:
        session.step(None)  # without a clip the first frame is drawn, not acted in
    times = []
    for index in range(steps + 5):
        started = time.perf_counter()
        frame = session.step(index % 6 if gen.lm.config.num_actions else None)
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times[5:]), frame


def encoding_costs(frame) -> dict:
    costs = {}
    for fmt in ("raw", "png"):
        started = time.perf_counter()
        for _ in range(200):
            message = encode_frame(frame, FrameMeta(1, 0, 0.0), fmt)
        costs[fmt] = (len(message), (time.perf_counter() - started) / 200 * 1e3)
    return costs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(model: str, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "arvideo.cli", "serve", "--model", model, "--port", str(port)]
    server = subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1"})
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/model", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise TimeoutError("arvideo serve did not start")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def in_the_page(page, seconds: float) -> dict:
    page.keyboard.down("ArrowUp")
    page.wait_for_function("window.arvideo.log.length > 10", timeout=60_000)
    frames0, started = page.evaluate("window.arvideo.frames"), time.perf_counter()
    time.sleep(seconds)
    frames1, elapsed = page.evaluate("window.arvideo.frames"), time.perf_counter() - started
    counter = page.evaluate("window.arvideo.rate")
    server_ms = float(page.inner_text("#step-ms"))
    page.keyboard.up("ArrowUp")
    return {"wall": (frames1 - frames0) / elapsed, "counter": counter, "server_ms": server_ms}


def soak(page, pid: int, minutes: float) -> list[tuple[float, float, int]]:
    """(minute, RSS MB, frames seen) every minute while keys are held, switching every 10 s."""
    samples, started, keys = (
        [(0.0, rss_mb(pid), page.evaluate("window.arvideo.frames"))],
        time.monotonic(),
        ["ArrowUp", "ArrowDown", " "],
    )
    while time.monotonic() - started < minutes * 60:
        key = keys[int((time.monotonic() - started) // 10) % len(keys)]
        page.keyboard.down(key)
        time.sleep(10)
        page.keyboard.up(key)
        minute = (time.monotonic() - started) / 60
        if minute >= len(samples):
            samples.append((minute, rss_mb(pid), page.evaluate("window.arvideo.frames")))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="outputs/demo/model")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--soak_minutes", type=float, default=0.0)
    parser.add_argument("--screenshot", default=None, help="save the page here (docs/)")
    args = parser.parse_args()
    load = os.getloadavg()[0]  # before anything of ours runs: what else holds the cores
    torch.set_num_threads(1)
    step_ms, frame = step_alone(args.model, 100)
    costs = encoding_costs(frame)
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = start_server(args.model, port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--no-sandbox"]
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page_rate = in_the_page(page, args.seconds)
            if args.screenshot:
                page.screenshot(path=args.screenshot, full_page=True)
            samples = soak(page, server.pid, args.soak_minutes) if args.soak_minutes else []
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    OUT.write_text(report(args, load, step_ms, costs, page_rate, samples))
    print(OUT.read_text())


def report(args, load, step_ms, costs, page_rate, samples) -> str:
    per_frame = 1e3 / page_rate["wall"]
    lines = [
        "# `arvideo serve`: steps/s in the browser",
        "",
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/serve.py --model {args.model} "
        f"--seconds {args.seconds:g}"
        + (f" --soak_minutes {args.soak_minutes:g}`" if args.soak_minutes else "`"),
        "",
        f"Machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"load average {load:.2f} before the run (1 min; other processes' CPU use); torch "
        f"{torch.__version__}, 1 thread in "
        "the server. Chromium headless (Debian) on the same cores.",
        "",
        "| what | value |",
        "|---|---|",
        f"| `session.step` alone (median, in process) | {step_ms:.1f} ms = "
        f"{1e3 / step_ms:.1f} steps/s |",
        f"| server's step time (frame header, in the page) | {page_rate['server_ms']:.1f} ms |",
        f"| steps/s in the page, frames / wall time over {args.seconds:g} s | "
        f"{page_rate['wall']:.1f} |",
        f"| steps/s in the page's own counter (last 30 frames) | {page_rate['counter']:.1f} |",
        f"| time per frame in the page | {per_frame:.1f} ms |",
        f"| transport + page cost per frame (page time - step alone) | "
        f"{per_frame - step_ms:.1f} ms |",
        f"| raw RGB frame | {costs['raw'][0]} bytes, {costs['raw'][1]:.3f} ms to pack |",
        f"| PNG frame | {costs['png'][0]} bytes, {costs['png'][1]:.3f} ms to encode |",
        "",
        "Raw RGB is the default (`--frames raw`): on loopback its bytes cost nothing and PNG's "
        "zlib is CPU time taken from sampling on the same cores.",
    ]
    if samples:
        lines += [
            "",
            "## Soak: keys held, server RSS every minute",
            "",
            "| minute | RSS MB | frames seen |",
            "|---|---|---|",
        ]
        lines += [f"| {m:.1f} | {r:.0f} | {f} |" for m, r, f in samples]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
