"""The play WebSocket: one `PlaySession` per connection, closed with it.

On connect: a session slot or "busy" and close (code 1013, try again later); then "hello"
(the model summary and settings) and the start frame. Each valid message is applied and
answered with a frame; an invalid one with an "error" and nothing changes. Sampling runs in
a worker thread so the server keeps answering other sockets meanwhile.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from fastapi import WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from arvideo.serve.frames import FrameMeta, encode_frame
from arvideo.serve.play_session import PlaySession, PlaySettings, StepResult
from arvideo.serve.protocol import MessageError, Reset, Settings, Step, parse_message
from arvideo.serve.slots import Busy
from arvideo.serve.state import ServeState

TRY_AGAIN_LATER = 1013  # WebSocket close code (RFC 6455 registry)
POLICY_VIOLATION = 1008


async def play_socket(websocket: WebSocket, state: ServeState) -> None:
    if not same_origin(websocket):  # another site's page must not drive this server
        await websocket.close(code=POLICY_VIOLATION, reason="cross-origin socket refused")
        return
    await websocket.accept()
    try:
        with state.slots.hold():
            await _play(websocket, state)
    except Busy as error:
        await websocket.send_json({"type": "busy", "message": str(error)})
        await websocket.close(code=TRY_AGAIN_LATER, reason="busy")
    except WebSocketDisconnect:
        pass  # the page went away: its session goes with this frame


def same_origin(websocket: WebSocket) -> bool:
    """A browser names the page's origin; it must be this server (tools send none)."""
    origin = websocket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


async def _play(websocket: WebSocket, state: ServeState) -> None:
    settings = dataclasses.replace(state.defaults or PlaySettings())
    session = PlaySession(state.gen, state.start, settings)
    first = await run_in_threadpool(session.reset)
    hello = {"type": "hello", **state.model_summary(), **dataclasses.asdict(settings)}
    await websocket.send_json(hello)
    await _send_frame(websocket, state, first)
    num_actions = state.gen.lm.config.num_actions
    while True:
        received = await websocket.receive()
        if received["type"] == "websocket.disconnect":
            return
        text = received.get("text")
        try:
            message = parse_message(
                text if text is not None else received.get("bytes"), num_actions
            )
        except MessageError as error:
            await websocket.send_json({"type": "error", "message": str(error)})
            continue
        result = await run_in_threadpool(_apply, session, message)
        if isinstance(message, Settings):
            await websocket.send_json({"type": "settings", **dataclasses.asdict(settings)})
        await _send_frame(websocket, state, result)


def _apply(session: PlaySession, message) -> StepResult:
    if isinstance(message, Step):
        return session.step(message.action)
    if isinstance(message, Reset):
        return session.reset()
    return session.configure(message.temperature, message.top_k, message.steps)


async def _send_frame(websocket: WebSocket, state: ServeState, result: StepResult) -> None:
    meta = FrameMeta(result.step, result.action, result.step_ms)
    await websocket.send_bytes(encode_frame(result.frame_HWC, meta, state.frame_format))
