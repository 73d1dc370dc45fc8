"""What the play page may say on the socket, checked before anything changes.

Client -> server, one JSON object per text message (at most MAX_MESSAGE_CHARS characters):

    {"type": "step", "action": 2}          the next frame after taking action 2 (or null)
    {"type": "reset"}                      back to the start clip
    {"type": "settings", "temperature": 0.8, "top_k": 0, "steps": 10}   re-sample with these
                                           (any of the keys; top_k 0 = every code, 1 = greedy)

Server -> client: binary frames (frames.py) and JSON objects of type "hello" (the model,
its actions and keys, the start clip's source), "settings", "error" (this message was
refused; nothing changed) and "busy" (too many sessions; the socket then closes).

Anything else -- binary from the client, bad JSON, unknown types or keys, a bool or float
where an int belongs, an action outside the game's set, an oversized message -- raises
`MessageError` naming the problem. Knows messages; nothing about models or sockets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from arvideo.generation_numbers import real_number, whole_number

MAX_MESSAGE_CHARS = 1024  # the longest valid message is ~60 characters
MAX_TEMPERATURE = 5.0  # past ~2 a categorical head draws noise; this is only a sanity bound
MAX_STEPS = 200  # denoising steps: each costs a head evaluation per token


class MessageError(ValueError):
    """A client message that is refused (answered with an error, changes nothing)."""


@dataclass
class Step:
    action: int | None


@dataclass
class Reset:
    pass


@dataclass
class Settings:
    temperature: float | None = None
    top_k: int | None = None  # 0 = no filter
    steps: int | None = None


Message = Step | Reset | Settings
FIELDS = {"step": {"action"}, "reset": set(), "settings": {"temperature", "top_k", "steps"}}


def parse_message(text, num_actions: int) -> Message:
    """One client message -> Step / Reset / Settings, or MessageError."""
    if not isinstance(text, str):
        raise MessageError("binary messages are not accepted: send JSON text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise MessageError(f"message of {len(text)} characters > {MAX_MESSAGE_CHARS}")
    try:
        data = json.loads(text)
    except ValueError as error:
        raise MessageError(f"message is not JSON: {error}") from None
    if not isinstance(data, dict) or data.get("type") not in FIELDS:
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise MessageError(f"type must be one of {sorted(FIELDS)}, got {kind!r}")
    unknown = set(data) - FIELDS[data["type"]] - {"type"}
    if unknown:
        raise MessageError(f"unknown keys {sorted(unknown)} for type {data['type']!r}")
    try:
        return _build(data, num_actions)
    except (TypeError, ValueError) as error:
        raise MessageError(str(error)) from None


def _build(data: dict, num_actions: int) -> Message:
    if data["type"] == "reset":
        return Reset()
    if data["type"] == "step":
        action = data.get("action")
        if action is None:
            return Step(None)
        if num_actions == 0:
            raise ValueError(f"action={action!r}: this model takes no actions (send null)")
        return Step(whole_number("action", action, low=0, high=num_actions))
    temperature, top_k, steps = (data.get(key) for key in ("temperature", "top_k", "steps"))
    if temperature is None and top_k is None and steps is None:
        raise ValueError("settings needs temperature, top_k or steps")
    return checked_settings(temperature, top_k, steps)


def checked_settings(temperature=None, top_k=None, steps=None) -> Settings:
    """Play settings, each given one in range (None: not given); a message's or the CLI's."""
    return Settings(
        None
        if temperature is None
        else real_number("temperature", temperature, 0.0, MAX_TEMPERATURE, low_open=True),
        None if top_k is None else whole_number("top_k", top_k, low=0),
        None if steps is None else whole_number("steps", steps, 1, MAX_STEPS + 1),
    )
