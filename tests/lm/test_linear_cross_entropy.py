"""Chunked linear cross-entropy: the same loss, gradients and hits as logits written out."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from arvideo.lm.heads.categorical import CategoricalHead
from arvideo.lm.heads.linear_cross_entropy import linear_cross_entropy


def reference(x, weight, bias, target):
    logits = x @ weight.t() + bias
    return F.cross_entropy(logits, target, reduction="none"), logits.argmax(-1) == target


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) for t in tensors]


@pytest.mark.parametrize("chunk_rows", [1, 5, 7, 64])  # 7 does not divide the 30 rows
def test_loss_hits_and_gradients_match_unchunked(chunk_rows):
    torch.manual_seed(0)
    x, weight, bias = torch.randn(30, 8), torch.randn(13, 8), torch.randn(13)
    target = torch.randint(0, 13, (30,))
    row_weight = torch.rand(30)  # an upstream gradient that differs per row
    x1, w1, b1 = leaves(x, weight, bias)
    ce_ref, hits_ref = reference(x1, w1, b1, target)
    (ce_ref * row_weight).sum().backward()
    x2, w2, b2 = leaves(x, weight, bias)
    losses = linear_cross_entropy(x2, w2, b2, target, chunk_rows=chunk_rows)
    (losses.ce_N * row_weight).sum().backward()
    torch.testing.assert_close(losses.ce_N, ce_ref)
    assert torch.equal(losses.correct_N, hits_ref)
    assert not losses.correct_N.requires_grad
    for fused, ref in ((x2, x1), (w2, w1), (b2, b1)):
        torch.testing.assert_close(fused.grad, ref.grad)


def test_no_bias():
    torch.manual_seed(1)
    x, weight = leaves(torch.randn(6, 4), torch.randn(5, 4))
    target = torch.randint(0, 5, (6,))
    ce = linear_cross_entropy(x, weight, None, target, chunk_rows=4).ce_N
    torch.testing.assert_close(ce, F.cross_entropy(x @ weight.t(), target, reduction="none"))
    ce.sum().backward()
    assert x.grad is not None and weight.grad is not None


def test_autocast_keeps_float32():
    torch.manual_seed(2)
    x, weight, bias = torch.randn(9, 8), torch.randn(7, 8), torch.randn(7)
    target = torch.randint(0, 7, (9,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ce = linear_cross_entropy(x, weight, bias, target, chunk_rows=4).ce_N
    assert ce.dtype == torch.float32
    torch.testing.assert_close(ce, reference(x, weight, bias, target)[0])


def test_bad_inputs_are_named():
    x, weight, target = torch.randn(4, 8), torch.randn(5, 8), torch.zeros(4, dtype=torch.int64)
    with pytest.raises(ValueError, match="same D"):
        linear_cross_entropy(x, torch.randn(5, 6), None, target)
    with pytest.raises(ValueError, match="target must be N = 4"):
        linear_cross_entropy(x, weight, None, target[:3])
    with pytest.raises(ValueError, match="chunk_rows"):
        linear_cross_entropy(x, weight, None, target, chunk_rows=0)


def test_residual_depth_head_gradients_match_written_out_logits():
    torch.manual_seed(3)
    head = CategoricalHead(16, 11, depth=3)
    z = torch.randn(2, 5, 16, requires_grad=True)
    target = torch.randint(0, 11, (2, 5, 3))
    weight_BN = torch.rand(2, 5)
    head.loss(z, target, weight_BN).loss.backward()
    fused = (z.grad.clone(), head.proj.weight.grad.clone(), head.proj.bias.grad.clone())
    z.grad = None
    head.zero_grad()
    ce_BNL = F.cross_entropy(head.logits(z).flatten(0, 2), target.flatten(), reduction="none").view(
        2, 5, 3
    )
    ((ce_BNL.mean(-1) * weight_BN).sum() / weight_BN.sum()).backward()
    for got, expected in zip(fused, (z.grad, head.proj.weight.grad, head.proj.bias.grad)):
        torch.testing.assert_close(got, expected)
