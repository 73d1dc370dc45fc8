"""Cross-entropy of a linear map's logits, computed a chunk of rows at a time.

The categorical head's loss is `cross_entropy(z @ Wᵀ + b, target)` over every position of a
batch: at the SpaceInvaders 4x4 world model that is 20,480 positions × 1,024 codes, an 84 MB
logits tensor, and as much again for its log-softmax, its gradient and the gradient's zeros.
Tensors that size miss every cache and come back from the allocator as fresh pages, so on a
CPU the loss took ~200 ms of a ~900 ms step. Here the logits of one chunk of rows live at a
time: the forward keeps only each row's log-sum-exp (4 bytes a row), and the backward
recomputes the chunk's logits (one more small matmul) to form softmax − one-hot in place.
Same numbers up to float rounding, a fraction of the memory traffic
(benchmarks/results/linear_cross_entropy.md).

The forward also says which rows the logits' argmax gets right (the accuracy metric), since
it holds each chunk's logits anyway. The matmuls and the softmax run in float32 even under
autocast (the head's code before computed the logits in the autocast dtype, then cast them to
float32): exact on CPU, where training is fp32 anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CHUNK_ROWS = 2048  # 2,048 × 1,024 fp32 logits = 8 MB: one chunk stays in a large L2/L3


@dataclass(frozen=True)
class RowLosses:
    """Per-row cross-entropy (differentiable) and whether the argmax hit the target."""

    ce_N: torch.Tensor
    correct_N: torch.Tensor  # bool, no gradient


def linear_cross_entropy(
    x_ND: torch.Tensor,
    weight_VD: torch.Tensor,
    bias_V: torch.Tensor | None,
    target_N: torch.Tensor,
    chunk_rows: int = CHUNK_ROWS,
) -> RowLosses:
    """cross_entropy(x @ weightᵀ + bias, target, reduction="none") and the argmax's hits,
    never holding more than `chunk_rows` rows of logits."""
    if x_ND.dim() != 2 or weight_VD.dim() != 2 or x_ND.shape[1] != weight_VD.shape[1]:
        raise ValueError(
            f"x must be N×D and weight V×D with the same D, got {tuple(x_ND.shape)} and "
            f"{tuple(weight_VD.shape)}"
        )
    if target_N.shape != x_ND.shape[:1]:
        raise ValueError(f"target must be N = {x_ND.shape[0]} codes, got {tuple(target_N.shape)}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    bias = bias_V if bias_V is not None else weight_VD.new_zeros(weight_VD.shape[0])
    ce_N, correct_N = _LinearCrossEntropy.apply(x_ND, weight_VD, bias, target_N, chunk_rows)
    return RowLosses(ce_N=ce_N, correct_N=correct_N)


def _chunk_logits(x, weight, bias, begin: int, end: int) -> torch.Tensor:
    return torch.addmm(bias, x[begin:end], weight.t())


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, target, chunk_rows: int):
        with torch.autocast(x.device.type, enabled=False):
            x32, w32, b32 = x.float(), weight.float(), bias.float()
            rows = x.shape[0]
            ce = x32.new_empty(rows)
            lse = x32.new_empty(rows)
            correct = torch.empty(rows, dtype=torch.bool, device=x.device)
            for begin in range(0, rows, chunk_rows):
                end = min(begin + chunk_rows, rows)
                logits = _chunk_logits(x32, w32, b32, begin, end)
                lse[begin:end] = torch.logsumexp(logits, dim=-1)
                hit = logits.gather(1, target[begin:end, None]).squeeze(1)
                ce[begin:end] = lse[begin:end] - hit
                correct[begin:end] = logits.argmax(-1) == target[begin:end]
        ctx.save_for_backward(x, weight, bias, target, lse)
        ctx.chunk_rows = chunk_rows
        ctx.mark_non_differentiable(correct)
        return ce, correct

    @staticmethod
    def backward(ctx, grad_ce, _grad_correct):
        x, weight, bias, target, lse = ctx.saved_tensors
        with torch.autocast(x.device.type, enabled=False):
            x32, w32, b32 = x.float(), weight.float(), bias.float()
            grad_x = torch.empty_like(x32)
            grad_w = torch.zeros_like(w32)
            grad_b = torch.zeros_like(b32)
            for begin in range(0, x.shape[0], ctx.chunk_rows):
                end = min(begin + ctx.chunk_rows, x.shape[0])
                # d ce / d logits = softmax − one-hot, scaled by each row's upstream gradient
                grad_logits = _chunk_logits(x32, w32, b32, begin, end)
                grad_logits.sub_(lse[begin:end, None]).exp_()
                rows = torch.arange(end - begin, device=x.device)
                grad_logits[rows, target[begin:end]] -= 1.0
                grad_logits.mul_(grad_ce[begin:end, None].float())
                torch.mm(grad_logits, w32, out=grad_x[begin:end])
                grad_w.addmm_(grad_logits.t(), x32[begin:end])
                grad_b.add_(grad_logits.sum(0))
        return grad_x.to(x.dtype), grad_w.to(weight.dtype), grad_b.to(bias.dtype), None, None
