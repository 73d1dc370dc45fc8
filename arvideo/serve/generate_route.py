"""POST /api/generate: continue the start clip (or draw from a label / text) -> a GIF or MP4.

The body is JSON: {"num_frames": 16, "temperature": 1.0, "top_k": null, "seed": 0, "format":
"gif", "label": null, "text": null} (temperature / top_k null or absent: the model's defaults;
top_k 0: every code); the clip is always the server's start clip, continued with its
own recorded actions (NOOP past its end). Holds a session slot while it samples ("busy"
answers 503), and at most MAX_FRAMES new frames, so one request cannot hold the server.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

import numpy as np
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from starlette.concurrency import run_in_threadpool

from arvideo.serve.slots import Busy
from arvideo.serve.state import ServeState

MAX_FRAMES = 64
MEDIA = {"gif": "image/gif", "mp4": "video/mp4"}


class GenerateForm(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is an error, not ignored

    num_frames: StrictInt = Field(16, ge=1, le=MAX_FRAMES)
    temperature: float | None = Field(None, gt=0.0, le=5.0, allow_inf_nan=False)
    top_k: StrictInt | None = Field(None, ge=0)
    seed: StrictInt = Field(0, ge=0, lt=2**63)
    format: Literal["gif", "mp4"] = "gif"
    label: StrictInt | None = Field(None, ge=0)
    text: str | None = Field(None, max_length=200)


def add_generate_route(app: FastAPI, state: ServeState) -> None:
    @app.post("/api/generate")
    async def generate(form: GenerateForm) -> Response:
        try:
            with state.slots.hold():
                body = await run_in_threadpool(generate_video, state, form)
        except Busy as error:
            raise HTTPException(503, str(error)) from None
        except (TypeError, ValueError) as error:  # the generation API names the argument
            raise HTTPException(422, str(error)) from None
        name = f"{state.model_dir.name}-seed{form.seed}.{form.format}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(body, media_type=MEDIA[form.format], headers=headers)


def generate_video(state: ServeState, form: GenerateForm) -> bytes:
    gen, start = state.gen, state.start
    options = dict(temperature=form.temperature, top_k=form.top_k, seed=form.seed, progress=False)
    if form.label is not None:
        options["label"] = form.label
    if form.text is not None:
        options["text"] = form.text
    truth = None
    if start.frames_THWC is not None:
        c = max(
            1, min(gen.info.context_frames or 1, gen.max_context_frames, len(start.frames_THWC))
        )
        truth = start.frames_THWC
        options["context"] = truth[:c]
        if start.actions_T is not None and gen.lm.config.num_actions:
            needed = c + form.num_frames - 1
            actions = np.zeros(needed, np.int64)
            actions[: min(needed, len(start.actions_T))] = start.actions_T[:needed]
            options["actions"] = actions
    result = gen(num_frames=form.num_frames, **options)
    if truth is not None:
        truth = truth[: result.video.shape[1]]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"out.{form.format}"
        result.save(path, truth=truth)
        return path.read_bytes()
