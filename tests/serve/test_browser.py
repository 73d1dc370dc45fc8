"""A real browser: `arvideo serve` on a free loopback port, Debian's Chromium driven headless
by Playwright (executable_path; scripts/browser.sh installs it, so this never skips).

The page is opened, keys are held and the page's own state (window.arvideo: frames seen, a
digest per frame, the measured steps/s) is read back. A screenshot goes to test-artifacts/
(or $ARVIDEO_TEST_ARTIFACTS).
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARTIFACTS = Path(
    os.environ.get("ARVIDEO_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
)
STEPS = 8  # steps compared between games


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"arvideo serve exited: {server.stdout.read()}")
        try:
            status = raw_get(port, "/api/model")[0]
            if status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"arvideo serve did not answer on port {port} in {seconds} s")


def raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET with the path sent byte for byte (no client-side normalisation of '..')."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server(model_dir, results_dir):
    port = free_port()
    command = [sys.executable, "-m", "arvideo.cli", "serve", "--model", str(model_dir)]
    command += ["--port", str(port), "--results", str(results_dir)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_until_up(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "no chromium on PATH: run scripts/browser.sh (scripts/test.sh does)"
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"http://127.0.0.1:{server}/")
    page.wait_for_function("window.arvideo.frames >= 1")
    yield page
    assert problems == [], f"browser console errors: {problems}"
    page.close()


def steps_reached(page, count: int) -> None:
    last = "window.arvideo.log[window.arvideo.log.length - 1]"
    page.wait_for_function(f"{last} && {last}.step >= {count}", timeout=20_000)


def set_paused(page, paused: bool) -> None:
    """Click the Pause / Resume button when the page is not already in that state."""
    if page.evaluate("window.arvideo.paused") != paused:
        page.click("#pause")


def game_with_key(page, key: str) -> list[int]:
    """Reset while paused, hold `key`, resume: the digests of steps 1..STEPS."""
    set_paused(page, True)
    page.click("#reset")
    page.wait_for_function("window.arvideo.log.length === 1 && window.arvideo.inFlight === 0")
    page.keyboard.down(key)
    set_paused(page, False)
    steps_reached(page, STEPS)
    set_paused(page, True)
    page.keyboard.up(key)
    log = page.evaluate("window.arvideo.log")
    return [entry["digest"] for entry in log if 1 <= entry["step"] <= STEPS]


def test_play_in_the_browser(page):
    page.keyboard.down("ArrowUp")
    steps_reached(page, 12)
    assert page.inner_text("#action") == "RIGHT"  # Pong's paddle-up action
    page.keyboard.up("ArrowUp")
    rate = float(page.inner_text("#rate"))
    assert rate > 0 and page.evaluate("window.arvideo.rate") > 0
    digests = [entry["digest"] for entry in page.evaluate("window.arvideo.log")]
    assert len(set(digests)) > 1  # frames change
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "serve-play.png"), full_page=True)
    up = game_with_key(page, "ArrowUp")
    down = game_with_key(page, "ArrowDown")
    again = game_with_key(page, "ArrowUp")
    assert len(up) == len(down) == STEPS
    assert up == again  # a reset replays the game: the difference below is the actions'
    assert up != down


def test_the_page_shows_the_action_set_and_the_start_clip(page):
    keys = page.inner_text("#keys")
    assert "up" in keys and "RIGHT (2)" in keys and "space" in keys and "FIRE (1)" in keys
    assert "tiny-test-data" in page.inner_text("#start-clip")
    assert not page.is_visible("#steps-label")  # a categorical head has no denoising steps


def test_malformed_messages_from_the_page_are_refused(page):
    set_paused(page, True)
    page.evaluate("window.arvideo.socket.send('{bad json')")
    page.evaluate("""window.arvideo.socket.send(JSON.stringify({type: "step", action: 99}))""")
    page.wait_for_function("window.arvideo.errors.length === 2")
    errors = page.evaluate("window.arvideo.errors")
    assert "not JSON" in errors[0] and "action must be in [0, 6)" in errors[1]
    assert "refused" in page.inner_text("#message")
    set_paused(page, False)  # still playing after the refusals
    frames = page.evaluate("window.arvideo.frames")
    page.wait_for_function(f"window.arvideo.frames > {frames + 3}")


@pytest.mark.parametrize(
    "path",
    [
        "/results/../../../../etc/passwd",
        "/results/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/results/%2fetc%2fpasswd",
        "/results/notes.txt",  # in the folder, but not a results file type
        "/static/..%2fcli.py",
        "/static/../../pyproject.toml",
    ],
)
def test_path_traversal_is_refused(server, path):
    status, body = raw_get(server, path)
    assert status == 404 and b"root:" not in body


def test_listed_results_files_are_served(server):
    assert raw_get(server, "/results/samples/next_block.gif")[1][:3] == b"GIF"
