"""The library's VQ codebook with index arithmetic in place of its dense one-hot matrices.

vector-quantize-pytorch's `Codebook.forward` builds, for N vectors and K codes, an N×K
distance matrix (squared, clamped, square-rooted, negated), an N×K one-hot of the winners,
and multiplies that one-hot twice: by the codebook (the quantised vectors) and, transposed,
by the inputs (the EMA's per-code sums). At the main job's 4x4-cell tokenizer (N = 6,144 cells
a batch, K = 1,024) those N×K passes were ~0.11 s of a ~0.25 s training step on one CPU
thread. The same results come from one fused N×K score matrix and its argmax, then a
gather (`embed[codes]`), a `bincount` and an `index_add_`: O(N·D) work after the scores.

`IndexedCodebook` subclasses the library's class and adds no state, so checkpoints load
either way, and reuses its k-means init, EMA arithmetic and dead-code restarts. Anything it
does not reproduce (masks, top-k, stochastic or straight-through sampling, affine or
transformed codebooks, weighted or accumulated EMA) goes to the library's own forward.
"""

from __future__ import annotations

import functools

import torch
from torch import nn
from vector_quantize_pytorch.vector_quantize_pytorch import (
    Codebook,
    VectorQuantize,
    ema_inplace,
    gumbel_sample,
)

SCORE_CHUNK = 2**18  # scores per chunk of rows in `_nearest` (1 MB of fp32)


class IndexedCodebook(Codebook):
    """`Codebook` whose argmax, lookup and EMA statistics use indices, not one-hot matrices.

    The third value it returns (the library's distances) is None: only the cross-entropy
    commitment and codebook-diversity losses read it, and `use_indexed_codebooks` leaves the
    library's class in place where either is on."""

    def forward(
        self,
        x: torch.Tensor,
        sample_codebook_temp: float | None = None,
        mask: torch.Tensor | None = None,
        freeze_codebook: bool = False,
        codebook_transform_fn=None,
        ema_update_weight=None,
        accum_ema_update: bool = False,
        ema_update: bool | None = None,
        topk: int | None = None,
        update_usage: bool = True,
    ):
        plain = (
            mask is None
            and codebook_transform_fn is None
            and ema_update_weight is None
            and not accum_ema_update
            and topk is None
            and self._samples_by_argmax(sample_codebook_temp)
        )
        if not plain:
            return super().forward(
                x,
                sample_codebook_temp=sample_codebook_temp,
                mask=mask,
                freeze_codebook=freeze_codebook,
                codebook_transform_fn=codebook_transform_fn,
                ema_update_weight=ema_update_weight,
                accum_ema_update=accum_ema_update,
                ema_update=ema_update,
                topk=topk,
                update_usage=update_usage,
            )
        ema_update = self.ema_update if ema_update is None else ema_update
        needs_codebook_dim = x.ndim < 4  # b n d: one codebook, as the library reads it
        x = x.float().unsqueeze(0) if needs_codebook_dim else x.float()
        flat_HND = x.reshape(x.shape[0], -1, x.shape[-1])
        self.init_embed_(flat_HND)
        embed_HKD = (self.embed if self.learnable_codebook else self.embed.detach()).float()
        codes_HN = self._nearest(flat_HND, embed_HKD)
        quantized_HND = torch.gather(embed_HKD, 1, codes_HN.unsqueeze(-1).expand_as(flat_HND))
        if self.training and update_usage and not freeze_codebook:
            self._update_codebook(flat_HND, codes_HN, ema_update)
        quantized, codes = quantized_HND.view(x.shape), codes_HN.view(x.shape[:-1])
        if needs_codebook_dim:
            quantized, codes = quantized.squeeze(0), codes.squeeze(0)
        return quantized, codes, None

    def _samples_by_argmax(self, temperature: float | None) -> bool:
        """True when the library would pick each code by a plain argmax of its logits."""
        sampler = self.gumbel_sample
        if not isinstance(sampler, functools.partial) or sampler.func is not gumbel_sample:
            return False
        if self.affine_param or self.vq_bridge is not None:
            return False
        temperature = self.sample_codebook_temp if temperature is None else temperature
        stochastic = sampler.keywords.get("stochastic", False)
        straight_through = sampler.keywords.get("straight_through", False)
        random = self.training and temperature > 0 and (stochastic or straight_through)
        return not random

    def _nearest(self, flat_HND: torch.Tensor, embed_HKD: torch.Tensor) -> torch.Tensor:
        """The library's argmax of −‖x − e‖ (or of x·e for cosine codebooks), as the argmax
        of 2·x·e − ‖e‖²: ‖x‖² is the same for every code of a row, the root is monotonic.
        −‖e‖² rides in the matmul as an extra input column, and the rows go in chunks of
        ~1 MB of scores: one N×K matrix (25 MB at N = 6,144, K = 1,024) costs more in fresh
        memory pages than in arithmetic."""
        if self.use_cosine_sim:
            rows_HND, codes_HKD = flat_HND, embed_HKD
        else:
            minus_one_HN1 = flat_HND.new_full((*flat_HND.shape[:2], 1), -1.0)
            rows_HND = torch.cat([2 * flat_HND, minus_one_HN1], -1)
            codes_HKD = torch.cat([embed_HKD, embed_HKD.square().sum(-1, keepdim=True)], -1)
        codes_HDK = codes_HKD.transpose(1, 2)
        rows = max(1, SCORE_CHUNK // codes_HKD.shape[1])
        chunks = [
            first_argmax(torch.bmm(chunk_HND, codes_HDK)) for chunk_HND in rows_HND.split(rows, 1)
        ]
        return torch.cat(chunks, 1)

    def _update_codebook(self, flat_HND: torch.Tensor, codes_HN: torch.Tensor, ema: bool) -> None:
        """The library's `update_codebook` with the per-code counts and sums from indices."""
        if not ema and not self.has_dead_code_replacement:
            return
        heads, _, dim = flat_HND.shape
        size = self.codebook_size
        offsets_HN = codes_HN + size * torch.arange(heads, device=codes_HN.device)[:, None]
        counts = torch.bincount(offsets_HN.flatten(), minlength=heads * size)
        cluster_size_HK = counts.view(heads, size).to(flat_HND.dtype)
        sums = flat_HND.new_zeros(heads * size, dim)
        sums.index_add_(0, offsets_HN.flatten(), flat_HND.reshape(-1, dim))
        embed_sum_HKD = sums.view(heads, size, dim)
        self.all_reduce_fn(cluster_size_HK)
        self.all_reduce_fn(embed_sum_HKD)
        ema_inplace(self.cluster_size, cluster_size_HK, self.decay)
        ema_inplace(self.embed_avg, embed_sum_HKD, self.decay)
        if ema and not self.manual_ema_update:
            self.update_ema()
        self.expire_codes_(flat_HND)


def first_argmax(scores: torch.Tensor, group: int = 32) -> torch.Tensor:
    """`scores.argmax(-1)` (the first maximum of each row) in two passes: the maximum of each
    group of `group` columns, then the argmax within the winning group. On CPU `argmax` over
    a long last dimension runs element by element while `amax` vectorises: ~2.6 ms against
    5.8 ms on 6,144×1,024 scores, one thread."""
    *lead, width = scores.shape
    if width % group or width < 2 * group:
        return scores.argmax(-1)
    grouped = scores.reshape(-1, width // group, group)
    winner = grouped.amax(-1).argmax(-1)  # the first group that holds the row's maximum
    inside = grouped[torch.arange(grouped.shape[0], device=scores.device), winner].argmax(-1)
    return (winner * group + inside).view(lead)


def use_indexed_codebooks(quantizer: nn.Module) -> int:
    """Switch every library `Codebook` inside `quantizer` (VectorQuantize or ResidualVQ) to
    `IndexedCodebook`, except under a VectorQuantize that reads distances (cross-entropy
    commitment or codebook-diversity loss). Returns how many were switched."""
    switched = 0
    for module in quantizer.modules():
        if not isinstance(module, VectorQuantize) or type(module._codebook) is not Codebook:
            continue
        if module.has_codebook_diversity_loss or module.commitment_use_cross_entropy_loss:
            continue
        module._codebook.__class__ = IndexedCodebook  # no new state: same buffers, same keys
        switched += 1
    return switched
