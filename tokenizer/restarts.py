"""Dead-code restarts that seed new codes where the codebook fits the data worst.

The library's restart draws replacement vectors uniformly from the batch. On Atari most
vectors of a batch encode the same few background patches, so uniform draws breed
near-duplicates of the commonest code while rare content (the ball: ~1 cell in 64) stays
without a code of its own. `ErrorWeightedSampler` draws instead in proportion to each
vector's squared distance to its nearest current code (k-means++ seeding, Arthur &
Vassilvitskii 2007): vectors the codebook already represents
exactly are never drawn, and the worst-served content is drawn first. It plugs into one
codebook instance (`replace_sample_fn`), never into the library globally, and draws from its
own seeded `torch.Generator`.
"""

from __future__ import annotations

import torch
from torch import nn


class ErrorWeightedSampler:
    """Callable `(samples 1×N×D, num) -> 1×num×D` for a vector-quantize-pytorch codebook."""

    def __init__(self, codebook: nn.Module, seed: int = 0) -> None:
        self.codebook = codebook  # reads its current `embed` (1×K×D) at every call
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, samples_1ND: torch.Tensor, num: int) -> torch.Tensor:
        samples = samples_1ND[0].detach().float()
        codes = self.codebook.embed[0].detach().float().to(samples.device)
        error_N = torch.cdist(samples, codes).amin(dim=1).square()
        picks = []
        for _ in range(num):  # k-means++: each pick also serves its neighbours from now on
            if float(error_N.sum()) <= 0:
                break
            index = int(torch.multinomial(error_N.cpu(), 1, generator=self.generator))
            picks.append(index)
            new_error = (samples - samples[index]).square().sum(dim=1)
            error_N = torch.minimum(error_N, new_error)
        if len(picks) < num:  # the batch holds fewer distinct misfits than dead codes
            extra = torch.randint(samples.shape[0], (num - len(picks),), generator=self.generator)
            picks += extra.tolist()
        return samples_1ND[:, torch.tensor(picks, device=samples.device)]


def use_error_weighted_restarts(quantizer: nn.Module, seed: int = 0) -> int:
    """Give every codebook inside `quantizer` (VectorQuantize or ResidualVQ) the sampler;
    returns how many codebooks were changed."""
    changed = 0
    for module in quantizer.modules():
        if hasattr(module, "replace_sample_fn") and hasattr(module, "embed"):
            module.replace_sample_fn = ErrorWeightedSampler(module, seed + changed)
            changed += 1
    return changed
