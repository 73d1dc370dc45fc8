"""A KV cache of fixed-size buffers with a slot per token, for a compiled decoding step.

`KVCache` hands attention views that grow and move at every step, and a compiled step
would recompile or copy on each new shape. Here every layer's keys and values live in
B×heads×C×E buffers of a fixed capacity C and each cached token owns one slot; a step writes
its new keys/values into their slots in place and attends over the slots up to the highest
one in use (slots are handed out lowest first), with a mask that also hides free slots. The
compiled graph takes that length as dynamic, so one graph per step length serves a whole
generation, and every later one of the same batch and capacity.

Slots need not follow the token order: keys are cached already rotated (RoPE is relative)
and softmax does not care where a key sits, so the sliding window frees the oldest frames'
slots and the next tokens reuse them, a ring that copies nothing. The token-order metadata
(group, frame, validity) stays in logical order, exactly as in `KVCache`, so the owner of
the order builds the same N×M mask as before; `slot_mask` then scatters it onto the slots.
Masked scores contribute exact zeros, so only the order of floating-point sums differs
from the unslotted step.

When the free slots run out, the buffers double (a copy, and a recompile for the new
capacity): a session sized by `capacity_for` never grows.
"""

from __future__ import annotations

import torch

from .kv_cache import KVCache

MIN_CAPACITY = 64


def capacity_for(tokens: int) -> int:
    """Slots for `tokens` visible tokens: a power of two (>= 64), so sessions of nearby
    lengths share one compiled shape."""
    return max(MIN_CAPACITY, 1 << max(tokens - 1, 0).bit_length())


class SlotKVCache(KVCache):
    """`KVCache`'s metadata in token order, keys/values in fixed slot buffers."""

    def __init__(self, num_layers: int, capacity: int):
        super().__init__(num_layers)
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.key_buffers: list[torch.Tensor] = []  # per layer, B×heads×C×E; made at 1st step
        self.value_buffers: list[torch.Tensor] = []
        self.slot_N: torch.Tensor = torch.zeros(0, dtype=torch.long)  # slot of each token
        self.new_slots: torch.Tensor = self.slot_N  # slots of the tokens of the next step

    def add_tokens(self, group_n, frame_n, valid_Bn) -> None:
        super().add_tokens(group_n, frame_n, valid_Bn)
        n = group_n.shape[0]
        if self.capacity - len(self.slot_N) < n:
            self._grow(len(self.slot_N) + n)
        occupied = torch.zeros(self.capacity, dtype=torch.bool)  # derived: slot_N is the truth
        occupied[self.slot_N.cpu()] = True
        self.new_slots = (~occupied).nonzero().squeeze(1)[:n].to(group_n.device)
        self.slot_N = torch.cat([self.slot_N.to(group_n.device), self.new_slots])

    @property
    def slots_in_use(self) -> int:
        """1 + the highest slot holding a token: attention need not read past it."""
        return int(self.slot_N.max()) + 1 if len(self.slot_N) else 0

    def buffers_for(self, batch: int, heads: int, head_dim: int, like: torch.Tensor):
        """Each layer's (keys, values) buffers, made zero on first use (or when the batch,
        dtype or device changed, which only a new session does)."""
        shape = (batch, heads, self.capacity, head_dim)
        made = self.key_buffers and self.key_buffers[0].shape == shape
        if not (made and self.key_buffers[0].dtype == like.dtype):
            layers = len(self.keys)
            self.key_buffers = [like.new_zeros(shape) for _ in range(layers)]
            self.value_buffers = [like.new_zeros(shape) for _ in range(layers)]
        return self.key_buffers, self.value_buffers

    def slot_mask(self, mask_NM: torch.Tensor) -> torch.Tensor:
        """A mask over the cached tokens in order (…×n×M) as a mask over the slots
        (…×n×C): free slots are never attended to."""
        slotted = mask_NM.new_zeros(*mask_NM.shape[:-1], self.capacity)
        slotted[..., self.slot_N] = mask_NM
        return slotted

    def _select(self, index) -> None:
        super()._select(index)
        self.slot_N = self.slot_N[index]

    def _grow(self, needed: int) -> None:
        """Double the capacity (at least to `needed`), the cached slots copied over."""
        capacity = max(2 * self.capacity, capacity_for(needed))
        for buffers in (self.key_buffers, self.value_buffers):
            for layer, old in enumerate(buffers):
                buffers[layer] = old.new_zeros(*old.shape[:2], capacity, old.shape[3])
                buffers[layer][:, :, : self.capacity] = old
        self.capacity = capacity


class SlotWriter:
    """What attention sees of a `SlotKVCache` inside the compiled step: the new keys and
    values written into their slots in place, then the slots up to `used` (the mask's
    length: `SlotKVCache.slots_in_use`) returned. The writes go to the whole buffers,
    graph inputs that inductor updates in place; writing into a view of them instead made
    it clone the view every step. `explicit_attention` asks attention for softmax(QKᵀ)V
    written out, which inductor fuses, on one-query steps only: there the CPU sdpa call
    (~70 µs) costs more than its arithmetic, while a block of queries (next-block,
    next-scale) keeps sdpa: with inductor's fused attention instead, the 64-token session
    step ran at 0.80x eager (benchmarks/results/compiled_decoding.md)."""

    def __init__(self, keys: list[torch.Tensor], values: list[torch.Tensor], slots, used):
        self.keys, self.values, self.slots, self.used = keys, values, slots, used
        self.explicit_attention = len(slots) == 1

    def update(self, layer: int, k_BAnd: torch.Tensor, v_BAnd: torch.Tensor):
        keys, values = self.keys[layer], self.values[layer]
        keys[:, :, self.slots] = k_BAnd
        values[:, :, self.slots] = v_BAnd
        return keys[:, :, : self.used], values[:, :, : self.used]
