"""ParameterEMA: warmed-up decay, what it averages, and state dicts old and new."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from arvideo.training.ema import WARM_UPDATES, ParameterEMA


def _set(module: nn.Linear, value: float) -> None:
    with torch.no_grad():
        module.weight.fill_(value)
        module.bias.fill_(value)


def test_the_first_updates_follow_the_weights_not_the_initialisation():
    model = nn.Linear(3, 2)
    _set(model, 0.0)
    ema = ParameterEMA(model, decay=0.999)
    assert ema.current_decay() == pytest.approx(0.1)  # (1 + 0) / (10 + 0)
    _set(model, 1.0)
    ema.update(model)
    assert torch.allclose(ema.shadow_0, torch.full_like(ema.shadow_0, 0.9))
    for _ in range(1500):
        ema.update(model)
    # a constant 0.999 would keep 0.999^1500 = 22% of the zero initialisation
    assert float(ema.shadow_0.min()) > 0.999
    assert int(ema.updates) == 1501
    assert ema.current_decay() == pytest.approx(1502 / 1511)  # the warm-up still binds
    ema.updates.fill_(20_000)
    assert ema.current_decay() == 0.999  # then the decay asked for


def test_swapped_into_uses_the_average_and_restores_the_weights():
    model = nn.Linear(3, 2)
    _set(model, 2.0)
    ema = ParameterEMA(model, decay=0.5)
    _set(model, 4.0)
    ema.update(model)  # decay min(0.5, 0.1) = 0.1: 0.1 * 2 + 0.9 * 4
    with ema.swapped_into(model):
        assert torch.allclose(model.weight, torch.full_like(model.weight, 3.8))
    assert torch.allclose(model.weight, torch.full_like(model.weight, 4.0))


def test_state_dict_round_trips_and_an_old_one_loads_as_warm():
    model = nn.Linear(3, 2)
    ema = ParameterEMA(model, decay=0.99)
    for _ in range(5):
        ema.update(model)
    again = ParameterEMA(nn.Linear(3, 2), decay=0.99)
    again.load_state_dict(ema.state_dict())
    assert int(again.updates) == 5 and torch.equal(again.shadow_0, ema.shadow_0)
    old = {k: v for k, v in ema.state_dict().items() if k != "updates"}
    again.load_state_dict(old)
    assert int(again.updates) == WARM_UPDATES and again.current_decay() == 0.99


def test_decay_outside_the_open_interval_is_refused():
    with pytest.raises(ValueError, match="decay"):
        ParameterEMA(nn.Linear(2, 2), decay=1.0)
