"""Every bad number refused, naming the argument (issue 18, items 9-11): NaN, inf, huge and
negative scales, bools passed as ints, floats as action ids, impossible seeds and batch
sizes, a frame count that cannot be held, sessions that would drop an action or clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvideo.generation_numbers import MAX_CFG_SCALE


@pytest.fixture(scope="module")
def gen(tiny_models):
    return tiny_models.tiny_generator()


def test_every_bad_argument_is_refused_naming_it(gen, argument_cases):
    outcomes = {case.what: argument_cases.refusal(case, gen) for case in argument_cases.BAD_CALLS}
    assert {what: got for what, got in outcomes.items() if got is not None} == {}


def test_good_values_at_the_edges_still_work(gen, argument_cases):
    context = argument_cases.context()
    out = gen(context, num_frames=1, cfg_scale=MAX_CFG_SCALE, temperature=0, seed=2**64 - 1,
              actions=np.array([3], np.int64), progress=False)  # fmt: skip
    assert out.video.shape == (1, 2, 16, 16, 3)
    session = gen.session()
    assert session.step().shape == (16, 16, 3)  # the first frame: no action
    assert session.step(np.int64(2)).shape == session.step(torch.tensor(1)).shape


def test_num_frames_cap_names_the_reason_and_the_way_out(gen):
    with pytest.raises(ValueError, match="max_call_bytes") as error:
        gen(num_frames=10**9, progress=False)
    assert "stream()" in str(error.value) and "new frames per call" in str(error.value)
    frames = list(gen.stream(num_frames=3))  # a stream holds a constant amount: no cap
    assert len(frames) == 3


def test_top_k_zero_asks_for_every_code_over_a_models_default():
    from arvideo.generation_numbers import sampling_settings
    from arvideo.lm.heads.base import SamplingSettings

    greedy = SamplingSettings(top_k=1, temperature=0.5)
    assert sampling_settings({}, greedy).top_k == 1  # unset: the model's default
    assert sampling_settings({"top_k": None}, greedy).top_k == 1
    every = sampling_settings({"top_k": 0}, greedy)
    assert every.top_k is None and every.temperature == 0.5
    with pytest.raises(ValueError, match="top_k must be >= 0"):
        sampling_settings({"top_k": -1}, greedy)
