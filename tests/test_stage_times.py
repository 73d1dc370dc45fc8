"""Stage timing of multi-stage jobs: skipped stages say so, failed stages are still timed."""

from __future__ import annotations

import pytest

from arvideo.stage_times import StageTimes


def test_timed_stage_records_steps_and_skips_are_named():
    times = StageTimes()
    with times.timed("tokenizer") as record:
        record.steps, record.planned_steps = 90, 100
    times.skip("encode")
    assert [s.name for s in times.stages] == ["tokenizer", "encode"]
    assert times.stages[0].seconds >= 0 and not times.stages[0].skipped
    text = times.describe()
    assert "tokenizer" in text and "(90 of 100 steps)" in text and "encode reused" in text
    assert times.to_dict()[1]["skipped"] is True


def test_a_failing_stage_is_still_recorded():
    times = StageTimes()
    with pytest.raises(RuntimeError), times.timed("collect"):
        raise RuntimeError("boom")
    assert times.stages[0].name == "collect"
