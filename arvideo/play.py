"""`arvideo play`: play the game inside the world model, from the terminal keyboard.

Arrows and space map to the game's actions through the model's action meanings (ALE names:
up -> UP, else RIGHT, which moves Pong's paddle up; down -> DOWN, else LEFT; left -> LEFT;
right -> RIGHT; space -> FIRE; no key -> NOOP; q quits). Frames are drawn as they come with
half-block characters in 24-bit colour (two pixel rows per text row), with the measured
frames per second below. `--record out.mp4` saves the session.

Headless (tests, CI): `--keys "up,up,space,none"` scripts the keys (then NOOP) and
`--steps N` stops after N frames; without a terminal, keys are never read from stdin.
Knows keys, terminals and action names; generation is `WorldModelSession`'s.
"""

from __future__ import annotations

import os
import select
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

# key -> action meanings to try, in order (the first the game has wins)
KEY_MEANINGS = {
    "up": ("UP", "RIGHT"),
    "down": ("DOWN", "LEFT"),
    "left": ("LEFT",),
    "right": ("RIGHT",),
    "space": ("FIRE",),
    "none": ("NOOP",),
}
ESCAPES = {"\x1b[A": "up", "\x1b[B": "down", "\x1b[C": "right", "\x1b[D": "left", " ": "space"}


@dataclass
class PlaySummary:
    steps: int  # frames generated
    fps: float  # generated frames per second (wall clock, rendering included)
    record: str | None  # where the session was written, if recorded


def action_for_key(key: str, meanings: list[str] | None) -> int:
    """Action id of a key name for a game with these action meanings (0 when unmapped)."""
    if key not in KEY_MEANINGS:
        raise ValueError(f"key={key!r} must be one of {sorted(KEY_MEANINGS)} (or q)")
    for meaning in KEY_MEANINGS[key]:
        if meanings and meaning in meanings:
            return meanings.index(meaning)
    return 0


def render_halfblocks(frame_HWC: np.ndarray) -> str:
    """uint8 H×W×3 -> text: '▀' with the top pixel as foreground, the one below as background."""
    if frame_HWC.shape[0] % 2:
        frame_HWC = np.concatenate([frame_HWC, np.zeros_like(frame_HWC[:1])])
    lines = []
    for top, bottom in zip(frame_HWC[0::2], frame_HWC[1::2]):
        cells = (
            f"\x1b[38;2;{a[0]};{a[1]};{a[2]}m\x1b[48;2;{b[0]};{b[1]};{b[2]}m▀"
            for a, b in zip(top.tolist(), bottom.tolist())
        )
        lines.append("".join(cells) + "\x1b[0m")
    return "\n".join(lines)


@contextmanager
def raw_terminal(stream):
    """cbreak mode without echo on a tty (restored afterwards); a no-op otherwise."""
    if not stream.isatty():
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(stream.fileno())
    try:
        tty.setcbreak(stream.fileno())
        yield
    finally:
        termios.tcsetattr(stream.fileno(), termios.TCSADRAIN, saved)


def read_key(stream, timeout: float) -> str:
    """The key pressed within `timeout` seconds ('none' if none), read from a raw tty."""
    ready, _, _ = select.select([stream], [], [], max(0.0, timeout))
    if not ready:
        return "none"
    text = os.read(stream.fileno(), 16).decode("utf-8", "ignore")
    if text[:1] == "q":
        return "q"
    return ESCAPES.get(text[:3], ESCAPES.get(text[:1], "none"))


def scripted_keys(keys: str | None):
    """Key names from a comma-separated script, then 'none' forever."""
    script = [k.strip() for k in keys.split(",") if k.strip()] if keys else []
    for key in script:
        if key != "q":
            action_for_key(key, None)  # validates the name
    yield from script
    while True:
        yield "none"


def play(
    model: str | None = None,
    context: str | None = None,
    clip: int = 0,
    record: str | None = None,
    steps: int | None = None,
    keys: str | None = None,
    fps: float | None = None,
    temperature: float | None = None,
    top_k: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    render: bool | None = None,
    compile: bool = False,
) -> PlaySummary:
    """Play inside the world model from the keyboard (arrows, space; q quits).

    Args:
        model: model folder (arvideo.json, tokenizer/, generator/); required.
        context: data set folder (a val clip's first frames start the game) or video file;
            None samples the first frame.
        clip: index of the val clip used as the start.
        record: write the session (context included) to this .mp4 or .gif.
        steps: stop after this many frames (required without a terminal).
        keys: scripted keys, e.g. "up,up,space,none" (then NOOP); no keyboard is read.
        fps: frame rate cap and recording rate (default: the model's).
        temperature: sampling temperature (0 = argmax); default: the model's (else 1).
        top_k: keep the k most likely codes (0 = every code); default: the model's (the
            main job's models: 1, greedy).
        seed: random seed.
        device: cpu or cuda.
        render: draw frames in the terminal (default: when stdout is a terminal).
        compile: each step's decoding as one `torch.compile`d graph (faster steps after
            ~25-40 s of compile at the start; VideoGenerator.session's `compile`).
    """
    from arvideo.generate import VideoGenerator

    if model is None:
        raise ValueError("model is required: --model DIR (a model folder)")
    gen = VideoGenerator.from_pretrained(model, device)
    interactive = keys is None and sys.stdin.isatty()
    if steps is None and not interactive:
        raise ValueError("steps must be given when no keyboard is read (keys given or no tty)")
    render = sys.stdout.isatty() if render is None else render
    rate = fps or gen.info.fps
    options = dict(temperature=temperature, top_k=top_k, seed=seed, compile=compile)
    session, frames = _start(gen, context, clip, options)
    script = scripted_keys(keys)
    started, count = time.perf_counter(), 0
    with raw_terminal(sys.stdin if interactive else _NoTty()):
        if render:
            sys.stdout.write("\x1b[2J\x1b[?25l")
        try:
            while steps is None or count < steps:
                tick = time.perf_counter()
                key = read_key(sys.stdin, 1.0 / rate) if interactive else next(script)
                if key == "q":
                    break
                frames.append(session.step(action_for_key(key, gen.info.action_meanings)))
                count += 1
                measured = count / (time.perf_counter() - started)
                if render:
                    _draw(frames[-1], measured, key)
                if not interactive:
                    continue
                time.sleep(max(0.0, 1.0 / rate - (time.perf_counter() - tick)))
        finally:
            if render:
                sys.stdout.write("\x1b[?25h\n")
    summary = PlaySummary(count, count / max(1e-9, time.perf_counter() - started), record)
    if record is not None:
        from arvideo.video_io import write_video

        write_video(record, np.stack(frames), rate)
    print(
        f"played {summary.steps} frames at {summary.fps:.1f} fps"
        + (f"; wrote {record}" if record else "")
    )
    return summary


class _NoTty:
    def isatty(self) -> bool:
        return False


def _start(gen, context: str | None, clip: int, options: dict):
    """A session and the list of frames shown so far (the context's)."""
    if context is None:
        session = gen.session(**options)
        return session, [session.step(None)]
    from arvideo.generate_cli import load_context_clip

    source = load_context_clip(context, clip)
    c = min(gen.info.context_frames or 1, gen.max_context_frames, len(source.frames_THWC))
    c = max(c, 1)
    if source.actions_T is not None and gen.lm.config.num_actions:
        options["actions"] = source.actions_T[: c - 1]
    session = gen.session(context=source.frames_THWC[:c], **options)
    return session, list(source.frames_THWC[:c])


def _draw(frame_HWC: np.ndarray, fps: float, key: str) -> None:
    sys.stdout.write("\x1b[H" + render_halfblocks(frame_HWC))
    sys.stdout.write(f"\n{fps:5.1f} fps   key: {key:<6} (arrows, space; q quits)\x1b[K")
    sys.stdout.flush()
