"""`python benchmarks/experiments/kv_cache_speed.py`: next-token decoding of the backbone
with the KV cache growing by `torch.cat` and adaLN projected at every token (before), against
writing in place into a doubling buffer, and against that plus the modulation reused while
the frame's conditioning vector stays the same (lm/kv_cache.py, lm/cond_runs.py);
interleaved in one process, medians of paired rounds, 1 thread.

Size: IRIS's Atari world model (10 layers x 256, 4 heads), 16 + 1 tokens per frame, 8 frames
(136 tokens) decoded one token per step after a 1-token prefill, at batch 1 and 64.
"""

from __future__ import annotations

import statistics
import time

import torch

from arvideo.lm.kv_cache import KVCache
from arvideo.lm.orders.base import block_causal_mask
from arvideo.lm.transformer import Transformer, TransformerConfig

TOKENS, PER_FRAME, ROUNDS = 136, 17, 4  # the first round warms up and is dropped


class InPlaceCache(KVCache):
    """In place, modulation projected at every token."""

    def __init__(self, num_layers: int):
        super().__init__(num_layers)
        self.modulation_memo = None


class ConcatCache(KVCache):
    """The cache as it was: every step concatenates the whole layer's keys/values, and the
    modulation is projected at every token."""

    def __init__(self, num_layers: int):
        super().__init__(num_layers)
        self.modulation_memo = None

    def update(self, layer, k_BAnd, v_BAnd):
        if self.keys[layer] is not None:
            k_BAnd = torch.cat([self.keys[layer], k_BAnd], dim=2)
            v_BAnd = torch.cat([self.values[layer], v_BAnd], dim=2)
        self.keys[layer], self.values[layer] = k_BAnd, v_BAnd
        return k_BAnd, v_BAnd


@torch.no_grad()
def decode(
    model: Transformer, cache: KVCache, x_BND: torch.Tensor, cond_BND: torch.Tensor
) -> float:
    """Seconds to run the tokens one by one through the cached backbone."""
    frame = torch.arange(TOKENS) // PER_FRAME
    positions = torch.stack([frame, torch.arange(TOKENS) % PER_FRAME, 0 * frame, 0 * frame], 1)
    batch = x_BND.shape[0]
    started = time.perf_counter()
    for index in range(TOKENS):
        step = slice(index, index + 1)
        group = torch.tensor([index])
        cache.add_tokens(group, frame[step], torch.ones(batch, 1, dtype=torch.bool))
        mask = block_causal_mask(
            group, frame[step], cache.group_N, cache.frame_N, query_offset=cache.length - 1
        )
        model(x_BND[:, step], positions[step].float(), mask, cond_BND[:, step], cache)
    return time.perf_counter() - started


def compare(batch: int) -> str:
    generator = torch.Generator().manual_seed(0)
    model = Transformer(TransformerConfig(width=256, depth=10, heads=4)).eval()
    with torch.no_grad():  # adaLN-zero starts at zero: give the modulation some weight
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.02)
    x_BND = torch.randn(batch, TOKENS, 256, generator=generator)
    frame_BFD = torch.randn(batch, TOKENS // PER_FRAME, 256, generator=generator)
    cond_BND = frame_BFD.repeat_interleave(PER_FRAME, dim=1)  # one vector per frame
    variants = {"before": ConcatCache, "in_place": InPlaceCache, "in_place+memo": KVCache}
    times: dict[str, list[float]] = {name: [] for name in variants}
    for round_index in range(ROUNDS):
        for name, cache_class in variants.items():
            seconds = decode(model, cache_class(len(model.blocks)), x_BND, cond_BND)
            if round_index:
                times[name].append(seconds)
    parts = [f"B{batch}:"]
    for name in variants:
        ratio = statistics.median(a / b for a, b in zip(times["before"], times[name]))
        ms = statistics.median(times[name]) / TOKENS * 1e3
        parts.append(f"{name} {ms:.2f} ms/token (x{ratio:.2f})")
    return " ".join(parts) + f", medians of {ROUNDS - 1} paired rounds"


def main() -> None:
    torch.set_num_threads(1)
    for batch in (1, 64):
        print(compare(batch), flush=True)


if __name__ == "__main__":
    main()
