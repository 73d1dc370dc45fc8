"""The README's main job in its quick form: real Pong, tiny models, a video out."""

from __future__ import annotations

import json
import math

import av
import pytest
from PIL import Image

from arvideo.main_job import main_job


@pytest.mark.slow
def test_quick_main_job_writes_readable_videos(tmp_path):
    summary = main_job(workdir=str(tmp_path / "demo"), quick=True, num_frames=8)
    with av.open(summary.mp4) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(frames) == 8
    height, width, _ = frames[0].shape
    assert height == 64 and width >= 2 * 64  # truth | model, side by side
    with Image.open(summary.gif) as gif:
        assert gif.n_frames >= 2  # Pillow merges identical frames; read_video restores them
    assert math.isfinite(summary.psnr_db) and math.isfinite(summary.copy_last_psnr_db)
    score = summary.score  # held-out windows, model beside copy-last-frame
    assert score.model.windows == score.copy_last.windows >= 1
    assert score.model.ball is not None and 0 <= score.model.ball.within_2px <= 1
    assert "copy-last-frame" in summary.report()
    from arvideo.lm.model import VideoLM  # the folder samples as the main job scored it

    saved = VideoLM.from_pretrained(tmp_path / "demo" / "model" / "generator")
    assert saved.config.sampling == {"top_k": 1}

    again = main_job(workdir=str(tmp_path / "demo"), quick=True, num_frames=8)
    assert again.psnr_db == summary.psnr_db  # stages were skipped, sampling is seeded
    stages = {stage.name: stage for stage in summary.stages.stages}
    assert list(stages) == ["collect", "tokenizer", "encode", "generator", "generate and score"]
    assert stages["tokenizer"].steps == stages["tokenizer"].planned_steps == 6
    assert all(stage.seconds > 0 and not stage.skipped for stage in stages.values())
    assert {s.name for s in again.stages.stages if s.skipped} == {
        "collect",
        "tokenizer",
        "encode",
        "generator",
    }
    written = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert written["stages"][-1]["name"] == "generate and score" and written["seconds"] > 0
    # the early-stopping signal of the tokenizer stage is logged at every validation
    logs = (tmp_path / "demo" / "runs" / "tokenizer").rglob("metrics.csv")
    rows = [line.split(",") for line in next(logs).read_text().splitlines()]
    column = rows[0].index("val/foreground_psnr")
    values = [float(row[column]) for row in rows[1:] if row[column]]
    assert values and all(0 < value < 100 for value in values)
