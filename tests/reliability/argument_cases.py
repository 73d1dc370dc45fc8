"""Bad arguments to the generation API (issue 18, items 9-11): each must raise ValueError or
TypeError whose message names the argument. Shared by test_bad_numbers.py and the table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class BadCall:
    what: str  # the bad input, in words
    argument: str  # the name its error must contain
    call: Callable  # call(generator) -> should raise


def context(frames: int = 1, batch: int | None = None) -> np.ndarray:
    shape = (frames, 16, 16, 3) if batch is None else (batch, frames, 16, 16, 3)
    return np.zeros(shape, np.uint8)


def generate(**options) -> Callable:
    options.setdefault("num_frames", 1)
    return lambda gen: gen(context=context(), progress=False, **options)


def step(action, with_context: bool = True) -> Callable:
    def call(gen):
        gen.session(context() if with_context else None).step(action)

    return call


BAD_CALLS = [
    BadCall("cfg_scale -2", "cfg_scale", generate(cfg_scale=-2.0)),
    BadCall("cfg_scale NaN", "cfg_scale", generate(cfg_scale=float("nan"))),
    BadCall("cfg_scale 1e30", "cfg_scale", generate(cfg_scale=1e30)),
    BadCall("temperature NaN", "temperature", generate(temperature=float("nan"))),
    BadCall("temperature inf", "temperature", generate(temperature=float("inf"))),
    BadCall("temperature -1", "temperature", generate(temperature=-1.0)),
    BadCall("num_frames True", "num_frames", generate(num_frames=True)),
    BadCall("num_frames 2.0", "num_frames", generate(num_frames=2.0)),
    BadCall("num_frames 0", "num_frames", generate(num_frames=0)),
    BadCall("num_frames 10**9", "num_frames", generate(num_frames=10**9)),
    BadCall("session.step(2.7)", "action", step(2.7)),
    BadCall("session.step(True)", "action", step(True)),
    BadCall("session.step(-1)", "action", step(-1)),
    BadCall("step(2) as a session's first frame, no context", "action", step(2, False)),
    BadCall(
        "session of a batch of 2",
        "batch",
        lambda gen: gen.session(context(batch=2)),
    ),
    BadCall("batch_size 0", "batch_size", lambda gen: gen(num_frames=1, batch_size=0)),
    BadCall("batch_size -2", "batch_size", lambda gen: gen(num_frames=1, batch_size=-2)),
    BadCall("batch_size True", "batch_size", lambda gen: gen(num_frames=1, batch_size=True)),
    BadCall("seed 'abc'", "seed", generate(seed="abc")),
    BadCall("seed 2**70", "seed", generate(seed=2**70)),
    BadCall("seed -1", "seed", generate(seed=-1)),
    BadCall("actions as strings", "actions", generate(actions=["LEFT", "RIGHT"])),
    BadCall("actions as one string", "actions", generate(actions="2")),
    BadCall("actions as floats", "actions", generate(actions=[1.5])),
    BadCall("generator=123", "generator", generate(generator=123)),
    BadCall("top_k -1", "top_k", generate(top_k=-1)),  # 0 = every code (a real choice)
    BadCall("top_p 1.5", "top_p", generate(top_p=1.5)),
    BadCall("steps 0", "steps", generate(steps=0)),
    BadCall("refine_steps 0", "refine_steps", generate(refine_steps=0)),
    BadCall("solver 'rk4'", "solver", generate(solver="rk4")),
    BadCall("cfg_schedule 'cosine'", "cfg_schedule", generate(cfg_schedule="cosine")),
]


def refusal(case: BadCall, gen) -> str | None:
    """None when the call raised ValueError/TypeError naming the argument, else what
    happened instead (accepted, another exception, or an error without the name)."""
    try:
        case.call(gen)
    except (ValueError, TypeError) as error:
        return None if case.argument in str(error) else f"unnamed: {error}"
    except Exception as error:  # a crash, not a refusal
        return f"{type(error).__name__}: {error}"
    return "accepted"
