"""The HTTP side through TestClient: pages, the results folder, generate, the host check."""

from __future__ import annotations

import pytest

from arvideo.sample_clip import read_sample_clip
from arvideo.serve.cli import check_host
from arvideo.serve.files import STATIC

from .conftest import FRAME


@pytest.mark.parametrize("route", ["/", "/compare", "/generate"])
def test_pages_are_served_without_external_resources(client, route):
    page = client.get(route)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "http://" not in page.text and "https://" not in page.text  # works offline


@pytest.mark.parametrize("name", sorted(STATIC))
def test_every_shipped_file_exists(client, name):
    assert client.get(f"/static/{name}").status_code == 200


def test_results_listing_and_files(client):
    listing = client.get("/api/results").json()
    assert listing["files"] == ["samples/next_block.gif", "speed.json", "speed.png"]
    assert client.get("/results/speed.json").json()[0]["steps_per_s"] == 31.5


@pytest.mark.parametrize(
    "name",
    [
        "..%2f..%2fetc%2fpasswd",
        "%2fetc%2fpasswd",
        "notes.txt",
        "samples/..%2f..%2fx.json",
        "nope.png",
    ],
)
def test_anything_not_listed_is_not_found(client, name):
    assert client.get(f"/results/{name}").status_code == 404


def test_a_symlink_out_of_the_results_folder_is_refused(client, results_dir, tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    (results_dir / "link.json").symlink_to(secret)
    try:
        assert client.get("/results/link.json").status_code == 404
        assert "link.json" not in client.get("/api/results").json()["files"]
    finally:
        (results_dir / "link.json").unlink()


def test_generate_returns_a_gif_of_truth_beside_the_continuation(client):
    response = client.post("/api/generate", json={"num_frames": 3, "seed": 1})
    assert response.status_code == 200 and response.content[:3] == b"GIF"
    assert "attachment" in response.headers["content-disposition"]


@pytest.mark.parametrize(
    "body",
    [{"num_frames": 65}, {"num_frames": 2.5}, {"temperature": "hot"}, {"format": "exe"},
     {"path": "/etc/passwd"}, {"label": 3}],
)  # fmt: skip
def test_generate_refuses_bad_forms(client, body):
    assert client.post("/api/generate", json=body).status_code == 422


def test_model_summary_names_the_start_clip(client, model_dir):
    summary = client.get("/api/model").json()
    assert summary["frame_size"] == [FRAME, FRAME] and not summary["diffusion"]
    assert read_sample_clip(model_dir, (FRAME, FRAME)).source == summary["start_clip"]


def test_only_loopback_without_the_flag(capsys):
    check_host("127.0.0.1", False)
    check_host("localhost", False)
    check_host("::1", False)
    with pytest.raises(ValueError, match="host='0.0.0.0' is not a loopback address"):
        check_host("0.0.0.0", False)
    check_host("0.0.0.0", True)
    assert "WARNING: serving on 0.0.0.0" in capsys.readouterr().err


def test_a_sample_of_another_frame_size_is_refused(model_dir):
    with pytest.raises(ValueError, match="expected uint8 T×32×32×3"):
        read_sample_clip(model_dir, (32, 32))
