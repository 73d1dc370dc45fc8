"""adaLN modulation once per run of equal conditioning vectors equals it per token."""

from __future__ import annotations

import torch
from torch import nn

from arvideo.lm.cond_runs import CondRuns


def per_frame_cond(generator, batch=2, frames=3, tokens=4, width=8):
    """One vector per frame, repeated over its tokens: B×(frames·tokens)×D."""
    frame_BFD = torch.randn(batch, frames, width, generator=generator)
    return frame_BFD.repeat_interleave(tokens, dim=1)


def test_runs_are_one_per_frame_and_the_projection_matches(generator):
    cond = per_frame_cond(generator)
    runs = CondRuns.of(cond)
    assert runs.rows_KD.shape == (2 * 3, 8)  # frames of both clips
    linear = nn.Linear(8, 12)
    expected = linear(torch.nn.functional.silu(cond))
    torch.testing.assert_close(runs.project(linear, torch.nn.functional.silu), expected)


def test_distinct_rows_skip_the_gather_and_equal_rows_apart_stay_apart(generator):
    cond = torch.randn(1, 5, 8, generator=generator)
    assert CondRuns.of(cond).run_of_token is None
    cond[0, 2] = cond[0, 0]  # equal but not consecutive: its own run
    runs = CondRuns.of(cond)
    assert runs.run_of_token is None and len(runs.rows_KD) == 5
    cond[0, 3] = cond[0, 2]
    assert CondRuns.of(cond).run_of_token.tolist() == [0, 1, 2, 2, 3]


def test_gradients_reach_every_token_row(generator):
    cond = per_frame_cond(generator).requires_grad_()
    linear = nn.Linear(8, 4)
    CondRuns.of(cond).project(linear, torch.tanh).sum().backward()
    reference = cond.detach().clone().requires_grad_()
    linear(torch.tanh(reference)).sum().backward()
    # the run's first row carries its run's gradient; the sum over each run is the same
    per_frame = cond.grad.view(2, 3, 4, 8).sum(2)
    torch.testing.assert_close(per_frame, reference.grad.view(2, 3, 4, 8).sum(2))


def test_a_memo_reuses_the_projection_while_the_runs_stay_the_same(generator):
    linear, calls = nn.Linear(8, 4), []
    linear.register_forward_hook(lambda module, args, out: calls.append(1))
    frame_a, frame_b = torch.randn(2, 1, 1, 8, generator=generator)
    memo: dict = {}
    with torch.no_grad():
        first = CondRuns.of(frame_a, memo).project(linear, torch.tanh)
        again = CondRuns.of(frame_a.clone(), memo).project(linear, torch.tanh)
        other = CondRuns.of(frame_b, memo).project(linear, torch.tanh)
    assert len(calls) == 2  # the second token of frame a reused the first's projection
    torch.testing.assert_close(again, first, rtol=0, atol=0)
    expected = torch.nn.functional.linear(torch.tanh(frame_b), linear.weight, linear.bias)
    torch.testing.assert_close(other, expected.detach())
    CondRuns.of(frame_a, memo).project(linear, torch.tanh)  # with autograd on: no reuse
    assert len(calls) == 3


def test_one_run_per_sequence_broadcasts_and_equals_the_per_token_projection(generator):
    cond = torch.randn(3, 1, 8, generator=generator).expand(3, 5, 8).contiguous()
    runs = CondRuns.of(cond)
    assert runs.per_sequence and runs.rows_KD.shape == (3, 8)
    linear = nn.Linear(8, 12)
    out = runs.project(linear, torch.tanh)
    assert out.shape == (3, 1, 12)  # broadcasts over the 5 tokens: no gather
    torch.testing.assert_close(out.expand(3, 5, 12), linear(torch.tanh(cond)))


def test_the_memo_keeps_recurring_conditions_and_drops_the_least_recent(generator):
    from arvideo.lm.cond_runs import MEMO_ENTRIES

    linear, calls = nn.Linear(8, 4), []
    linear.register_forward_hook(lambda module, args, out: calls.append(1))
    actions = torch.randn(MEMO_ENTRIES + 1, 1, 1, 8, generator=generator)
    memo: dict = {}
    with torch.no_grad():
        for a in (0, 1, 0, 1, 0):  # two actions alternating: each projected once
            CondRuns.of(actions[a].clone(), memo).project(linear, torch.tanh)
        assert len(calls) == 2
        for a in range(2, MEMO_ENTRIES + 1):  # 7 new conditions: action 1, the oldest, drops
            CondRuns.of(actions[a], memo).project(linear, torch.tanh)
        CondRuns.of(actions[0], memo).project(linear, torch.tanh)
        assert len(calls) == MEMO_ENTRIES + 1  # action 0 was still kept
        CondRuns.of(actions[1], memo).project(linear, torch.tanh)
        assert len(calls) == MEMO_ENTRIES + 2  # action 1 was not
