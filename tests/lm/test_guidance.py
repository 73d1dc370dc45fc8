"""Classifier-free guidance schedules."""

from __future__ import annotations

import pytest
import torch

from arvideo.lm.guidance import cfg_schedule


def test_constant_schedule_is_the_scale():
    assert cfg_schedule("constant", 3.0, 0.0) == 3.0
    assert cfg_schedule("constant", 3.0, 0.7) == 3.0
    assert cfg_schedule("constant", 3.0, torch.rand(2, 5)) == 3.0


def test_linear_schedule_ramps_from_one_to_scale():
    assert cfg_schedule("linear", 3.0, 0.0) == 1.0
    assert cfg_schedule("linear", 3.0, 1.0) == 3.0
    assert cfg_schedule("linear", 3.0, 0.25) == pytest.approx(1.5)
    fraction_BN = torch.linspace(0, 1, 5).expand(2, 5)
    expected = torch.tensor([1.0, 1.5, 2.0, 2.5, 3.0]).expand(2, 5)
    torch.testing.assert_close(cfg_schedule("linear", 3.0, fraction_BN), expected)
    assert cfg_schedule("linear", 1.0, fraction_BN) == 1.0  # no guidance stays exact


def test_bad_schedule_arguments_raise():
    with pytest.raises(ValueError, match="kind"):
        cfg_schedule("cosine", 3.0, 0.5)
    with pytest.raises(ValueError, match="fraction"):
        cfg_schedule("linear", 3.0, 1.5)
    with pytest.raises(ValueError, match="fraction"):
        cfg_schedule("linear", 3.0, torch.tensor([-0.1, 0.5]))
