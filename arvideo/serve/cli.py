"""`arvideo serve --model DIR`: the play / compare / generate pages on http://127.0.0.1:8000.

Loopback only unless `--host` names another address AND `--allow_remote true` is given: the
server runs a model on request and has no accounts, so anyone who can reach it can use it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import sys
import time
from pathlib import Path

from arvideo.generation_numbers import whole_number
from arvideo.serve.frames import FrameFormat

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback host without allow_remote; warn with it."""
    if is_loopback(host):
        return
    if not allow_remote:
        raise ValueError(
            f"host={host!r} is not a loopback address: anyone who can reach it could run the "
            "model; pass --allow_remote true to serve it anyway"
        )
    print(
        f"WARNING: serving on {host}: every machine that can reach this address can play, "
        "generate and read the results folder; there is no login",
        file=sys.stderr,
    )


def serve(
    model: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    allow_remote: bool = False,
    context: str | None = None,
    clip: int = 0,
    results: str | None = None,
    frames: FrameFormat = "raw",
    max_sessions: int = 2,
    temperature: float | None = None,
    top_k: int | None = None,
    steps: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    compile: bool = False,
) -> None:
    """Serve the play, compare and generate pages for one model folder.

    Args:
        model: model folder (arvideo.json, tokenizer/, generator/); required.
        host: address to bind; only loopback unless allow_remote.
        port: TCP port.
        allow_remote: permit a non-loopback host (prints a warning).
        context: data set folder (its val clip `clip`) or video file to start from; default:
            the sample clip saved in the model folder.
        clip: index of the val clip when context is a data set folder.
        results: a results folder (benchmarks/results) for the compare page.
        frames: frame encoding on the socket: raw (RGB) or png.
        max_sessions: concurrent play sockets and generate requests; more are told "busy".
        temperature: initial sampling temperature; None: the model's default (`sampling` in
            its generator config, else 1).
        top_k: initial codes kept per draw (categorical heads; 0 = every code, 1 = greedy);
            None: the model's default (the main job's models are greedy).
        steps: initial denoising steps (latent heads); None: the model's default
            (`sampling.steps` in its config, else 25).
        seed: sampling seed of every (re)start.
        device: cpu or cuda.
        compile: decode each step as one `torch.compile`d graph (faster steps; the first
            session of the process compiles for ~25-50 s before its first frame).
    """
    import uvicorn

    if model is None:
        raise ValueError("model is required: --model DIR (a model folder)")
    check_host(host, allow_remote)
    from arvideo.serve.play_session import PlaySettings

    whole_number("port", port, 1, 65536)
    from arvideo.serve.protocol import checked_settings

    checked_settings(temperature, top_k)  # refused here, not at the first connection
    defaults = PlaySettings(temperature, top_k, steps, seed, compile)
    app = build_app(model, context, clip, results, frames, max_sessions, device, defaults)
    state = app.state.arvideo
    if compile:
        warm_up(state.gen, state.start, defaults)
    print(f"arvideo serve: http://{host}:{port}/  (start clip: {state.start.source})", flush=True)
    # ws_max_size: a valid message is < 1 KB; megabytes are refused at the socket layer
    uvicorn.run(app, host=host, port=port, ws_max_size=64 * 1024, log_level="warning")


def warm_up(gen, start, defaults) -> float:
    """Play two steps from the start clip before serving, so that `--compile`'s graphs are
    made now and not during a player's first frames; returns the seconds it took."""
    from arvideo.serve.play_session import PlaySession

    print("arvideo serve: compiling the decoding steps (once, ~25-50 s)...", flush=True)
    started = time.perf_counter()
    play = PlaySession(gen, start, dataclasses.replace(defaults))
    play.reset()
    for _ in range(2):
        play.step(None)
    return time.perf_counter() - started


def build_app(
    model: str,
    context: str | None = None,
    clip: int = 0,
    results: str | None = None,
    frames: FrameFormat = "raw",
    max_sessions: int = 2,
    device: str = "cpu",
    defaults=None,
):
    """The FastAPI app for a model folder (tests call this; `serve` runs it)."""
    from arvideo.generate import VideoGenerator
    from arvideo.serve.app import create_app
    from arvideo.serve.context import start_clip
    from arvideo.serve.files import ResultsFolder
    from arvideo.serve.play_session import PlaySettings
    from arvideo.serve.slots import SessionSlots
    from arvideo.serve.state import ServeState

    if frames not in ("raw", "png"):
        raise ValueError(f"frames must be 'raw' or 'png', got {frames!r}")
    gen = VideoGenerator.from_pretrained(model, device)
    start = start_clip(Path(model), gen.info.frame_size, context, clip)
    state = ServeState(
        gen, Path(model).resolve(), start, SessionSlots(max_sessions), frames,
        None if results is None else ResultsFolder(Path(results)), defaults or PlaySettings(),
    )  # fmt: skip
    return create_app(state)
