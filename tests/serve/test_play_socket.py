"""The play WebSocket through FastAPI's TestClient: frames, refusals, sessions and "busy"."""

from __future__ import annotations

import json

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

from arvideo.serve.frames import HEADER, decode_header

from .conftest import FRAME, MEANINGS, make_client


def frame_of(message: bytes):
    fmt, meta, size = decode_header(message)
    pixels = message[HEADER.size :]
    assert fmt == "raw" and size == (FRAME, FRAME) and len(pixels) == FRAME * FRAME * 3
    return meta, np.frombuffer(pixels, np.uint8).reshape(FRAME, FRAME, 3)


def open_game(socket):
    hello = socket.receive_json()
    meta, frame = frame_of(socket.receive_bytes())
    return hello, meta, frame


def play(socket, actions) -> list[np.ndarray]:
    frames = []
    for action in actions:
        socket.send_text(json.dumps({"type": "step", "action": action}))
        meta, frame = frame_of(socket.receive_bytes())
        assert meta.action == action
        frames.append(frame)
    return frames


def test_hello_then_start_frame_then_one_frame_per_step(client):
    with client.websocket_connect("/ws/play") as socket:
        hello, meta, frame = open_game(socket)
        assert hello["type"] == "hello" and hello["actions"] == MEANINGS
        assert {b["label"]: b["meaning"] for b in hello["keys"]}["up"] == "RIGHT"  # Pong's up
        assert "tiny-test-data" in hello["start_clip"] and meta.step == 0
        frames = play(socket, [0, 2, 2, None])
        assert len(frames) == 4 and all(f.shape == (FRAME, FRAME, 3) for f in frames)


def test_same_actions_same_frames_other_actions_other_frames(client):
    games = []
    for actions in ([2] * 4, [2] * 4, [3] * 4):
        with client.websocket_connect("/ws/play") as socket:
            open_game(socket)
            games.append(np.stack(play(socket, actions)))
    assert np.array_equal(games[0], games[1])  # a fixed seed: the game replays
    assert not np.array_equal(games[0], games[2])


@pytest.mark.parametrize(
    "message, says",
    [
        ('{"type": "step", "action": 6}', "action must be in [0, 6)"),
        ('{"type": "step", "action": true}', "action must be an int"),
        ('{"type": "step", "action": 1.0}', "action must be an int"),
        ('{"type": "step", "action": "UP"}', "action must be an int"),
        ('{"type": "jump"}', "type must be one of"),
        ('{"type": "step", "action": 1, "path": "/etc/passwd"}', "unknown keys ['path']"),
        ('{"type": "settings", "temperature": "hot"}', "temperature must be a number"),
        ('{"type": "settings", "temperature": 0}', "temperature must be a finite number"),
        ('{"type": "settings", "steps": 0}', "steps must be in [1, 201)"),
        ('{"type": "settings", "top_k": -1}', "top_k must be >= 0"),
        ('{"type": "settings", "top_k": 1.5}', "top_k must be an int"),
        ("[1, 2]", "type must be one of"),
        ("{not json", "not JSON"),
        ('{"type": "reset", "pad": "' + "x" * 2000 + '"}', "characters > 1024"),
    ],
)
def test_invalid_messages_answered_with_an_error_and_change_nothing(client, message, says):
    with client.websocket_connect("/ws/play") as socket:
        open_game(socket)
        first = play(socket, [2])
        socket.send_text(message)
        error = socket.receive_json()
        assert error["type"] == "error" and says in error["message"], error
        after = play(socket, [2, 3])
    with client.websocket_connect("/ws/play") as socket:  # the same game, never refused
        open_game(socket)
        reference = play(socket, [2, 2, 3])
    assert np.array_equal(np.stack(first + after), np.stack(reference))


def test_binary_from_the_client_is_refused(client):
    with client.websocket_connect("/ws/play") as socket:
        open_game(socket)
        socket.send_bytes(b"\x00" * 64)
        assert "binary messages are not accepted" in socket.receive_json()["message"]
        assert len(play(socket, [1])) == 1


def test_reset_returns_to_the_start_and_replays(client):
    with client.websocket_connect("/ws/play") as socket:
        _, _, start = open_game(socket)
        before = play(socket, [2, 3, 2])
        socket.send_text('{"type": "reset"}')
        meta, frame = frame_of(socket.receive_bytes())
        assert meta.step == 0 and np.array_equal(frame, start)
        assert np.array_equal(np.stack(play(socket, [2, 3, 2])), np.stack(before))


def test_settings_continue_from_the_frames_on_screen(client):
    with client.websocket_connect("/ws/play") as socket:
        open_game(socket)
        shown = play(socket, [2, 2])[-1]
        socket.send_text('{"type": "settings", "temperature": 0.5}')
        settings = socket.receive_json()
        assert settings["type"] == "settings" and settings["temperature"] == 0.5
        meta, frame = frame_of(socket.receive_bytes())
        assert meta.step == 2 and np.array_equal(frame, shown)  # play goes on from here
        assert len(play(socket, [3])) == 1


def test_busy_past_max_sessions_and_slots_freed_on_close(model_dir):
    with make_client(model_dir, max_sessions=1) as client:
        slots = client.app.state.arvideo.slots
        with client.websocket_connect("/ws/play") as first:
            open_game(first)
            with client.websocket_connect("/ws/play") as second:
                busy = second.receive_json()
                assert busy["type"] == "busy" and "1 of 1 sessions" in busy["message"]
                with pytest.raises(WebSocketDisconnect) as closed:
                    second.receive_json()
                assert closed.value.code == 1013
            assert len(play(first, [2])) == 1  # the first game is unaffected
        with client.websocket_connect("/ws/play") as again:  # its slot came back
            open_game(again)
        assert slots.active == 0


def test_a_socket_from_another_origin_is_refused(client):
    with pytest.raises(WebSocketDisconnect) as closed:
        with client.websocket_connect("/ws/play", headers={"origin": "http://evil.example"}):
            pass
    assert closed.value.code == 1008


def test_the_model_folders_sampling_defaults_are_the_starting_settings(tmp_path):
    """A folder saved greedy (the main job's) plays greedy until the page asks otherwise;
    top_k 0 then draws from every code, which a fixed seed makes visible as other frames."""
    from arvideo.testing import tiny_model_folder

    folder = tiny_model_folder(
        tmp_path / "greedy", sample_clip=True, sampling={"temperature": 2.0, "top_k": 1}
    )
    with make_client(folder) as client, client.websocket_connect("/ws/play") as socket:
        hello, _, _ = open_game(socket)
        assert (hello["temperature"], hello["top_k"]) == (2.0, 1)
        greedy = np.stack(play(socket, [2, 2, 2]))
        socket.send_text('{"type": "reset"}')
        frame_of(socket.receive_bytes())
        assert np.array_equal(np.stack(play(socket, [2, 2, 2])), greedy)
        socket.send_text('{"type": "settings", "top_k": 0}')
        assert socket.receive_json()["top_k"] == 0
        frame_of(socket.receive_bytes())
        socket.send_text('{"type": "reset"}')
        frame_of(socket.receive_bytes())
        assert not np.array_equal(np.stack(play(socket, [2, 2, 2])), greedy)
