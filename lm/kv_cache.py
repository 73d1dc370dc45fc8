"""Key/value cache for incremental decoding, with a sliding window over whole frames.

Any number of tokens may be appended per call (one token, one block, one scale). Beside the
per-layer keys/values (B×heads×N×E, keys already rotated: RoPE is relative, so cached keys
never need re-rotating and absolute time may keep growing), the cache records for every
cached token its group id, its frame index and whether it is a real token (padding of a
text prefix is not). Prefix tokens carry frame -1 and are never dropped by the window.

`truncate(length)` rolls back tokens appended by a look-ahead forward (within-block
refinement runs a block several times and commits only its last step).

Keys and values live in preallocated buffers: a step writes its new tokens in place and
`keys[layer]` / `values[layer]` are views of the filled part, so decoding allocates nothing
per token (growing by `torch.cat` copied the whole cache at every step: ~40 ms per token
step at batch 64 and depth 10). Truncating only moves the view's end. The sliding window
drops the oldest frames by moving the view's start when the kept tokens are a suffix (no
text prefix), and a step copies the kept tokens back to the buffer's front only when the
buffer's end is reached, which the buffer's size (at least twice the filled part) makes at
most once per as many appended tokens as are kept. A prefix forces the old compaction. With
autograd on (a cache used while training), it falls back to `torch.cat`, which never writes
in place.

The cache knows nothing about token order rules: the owner of the order builds masks from
`group_N`, `frame_N` and `valid_BN`.
"""

from __future__ import annotations

import torch


class KVCache:
    """Per-layer keys/values plus per-token metadata, all of equal length N."""

    def __init__(self, num_layers: int):
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.keys: list[torch.Tensor | None] = [None] * num_layers  # views: the filled part
        self.values: list[torch.Tensor | None] = [None] * num_layers
        self._key_buffers: list[torch.Tensor | None] = [None] * num_layers
        self._value_buffers: list[torch.Tensor | None] = [None] * num_layers
        self._starts = [0] * num_layers  # where each layer's view begins in its buffer
        # adaLN modulation of the last step per module (cond_runs.py): the tokens of one
        # frame share a conditioning vector, so token steps inside a frame reuse it
        self.modulation_memo: dict = {}
        self.group_N: torch.Tensor | None = None
        self.frame_N: torch.Tensor | None = None
        self.valid_BN: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return 0 if self.group_N is None else int(self.group_N.shape[0])

    def add_tokens(
        self, group_n: torch.Tensor, frame_n: torch.Tensor, valid_Bn: torch.Tensor
    ) -> None:
        """Record the metadata of the tokens the next forward will append (before it runs)."""
        if not (group_n.shape == frame_n.shape == valid_Bn.shape[1:]):
            raise ValueError("group_n, frame_n and valid_Bn must describe the same tokens")
        if self.group_N is None:
            self.group_N, self.frame_N, self.valid_BN = group_n, frame_n, valid_Bn
            return
        self.group_N = torch.cat([self.group_N, group_n])
        self.frame_N = torch.cat([self.frame_N, frame_n])
        self.valid_BN = torch.cat([self.valid_BN, valid_Bn], dim=1)

    def update(
        self, layer: int, k_BAnd: torch.Tensor, v_BAnd: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append one layer's new keys/values; return all keys/values of that layer."""
        old_k, old_v = self.keys[layer], self.values[layer]
        if torch.is_grad_enabled() and (k_BAnd.requires_grad or v_BAnd.requires_grad):
            if old_k is not None:
                k_BAnd, v_BAnd = torch.cat([old_k, k_BAnd], 2), torch.cat([old_v, v_BAnd], 2)
            self._key_buffers[layer] = self._value_buffers[layer] = None
            self.keys[layer], self.values[layer] = k_BAnd, v_BAnd
            return k_BAnd, v_BAnd
        filled = 0 if old_k is None else old_k.shape[2]
        self._make_room(layer, k_BAnd, v_BAnd, filled)
        keys, values = self._key_buffers[layer], self._value_buffers[layer]
        start = self._starts[layer]
        stop = start + filled + k_BAnd.shape[2]
        keys[:, :, start + filled : stop] = k_BAnd
        values[:, :, start + filled : stop] = v_BAnd
        self.keys[layer], self.values[layer] = keys[:, :, start:stop], values[:, :, start:stop]
        return self.keys[layer], self.values[layer]

    def _make_room(self, layer: int, k_BAnd: torch.Tensor, v_BAnd: torch.Tensor, filled: int):
        """Buffers of the new tokens' batch, heads, dtype and device with room after the view
        for them: the view moved to the front when that frees enough room (at most half of
        the buffer filled, so such copies stay rare), else buffers of twice the size."""
        buffer, start = self._key_buffers[layer], self._starts[layer]
        needed = filled + k_BAnd.shape[2]
        fits = (
            buffer is not None
            and buffer.shape[:2] == k_BAnd.shape[:2]
            and self._value_buffers[layer].shape[:2] == v_BAnd.shape[:2]
            and buffer.dtype == k_BAnd.dtype
            and buffer.device == k_BAnd.device
        )
        if fits and start + needed <= buffer.shape[2]:
            return
        if fits and 2 * needed <= buffer.shape[2]:
            self._move_to_front(layer, buffer, self._value_buffers[layer])
            return
        capacity = max(needed, 2 * (0 if buffer is None else buffer.shape[2]), 16)
        new_k = k_BAnd.new_empty(*k_BAnd.shape[:2], capacity, k_BAnd.shape[3])
        new_v = v_BAnd.new_empty(*v_BAnd.shape[:2], capacity, v_BAnd.shape[3])
        self._move_to_front(layer, new_k, new_v)

    def _move_to_front(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """The filled view copied to the front of `keys` / `values`, which become the layer's
        buffers (a clone first: the old and new places may overlap)."""
        if self.keys[layer] is not None:
            filled = self.keys[layer].shape[2]
            keys[:, :, :filled] = self.keys[layer].clone()
            values[:, :, :filled] = self.values[layer].clone()
            self.keys[layer], self.values[layer] = keys[:, :, :filled], values[:, :, :filled]
        self._key_buffers[layer], self._value_buffers[layer] = keys, values
        self._starts[layer] = 0

    def truncate(self, length: int) -> None:
        """Keep the first `length` tokens (undo a look-ahead forward)."""
        if not 0 <= length <= self.length:
            raise ValueError(f"length must be in [0, {self.length}], got {length}")
        self._select(slice(0, length))

    def drop_frames_before(self, frame: int) -> int:
        """Sliding window: drop tokens of frames < `frame`, keep prefix tokens (frame -1).

        Returns how many tokens were dropped; the cost of later steps stays constant.
        """
        if self.frame_N is None:
            return 0
        keep = (self.frame_N < 0) | (self.frame_N >= frame)
        dropped = int((~keep).sum())
        if dropped:
            self._select(keep.nonzero().squeeze(1))
        return dropped

    def _select(self, index: slice | torch.Tensor) -> None:
        suffix = _suffix_start(index, self.length)
        if suffix is not None:  # the window's usual case: move the views' start, copy nothing
            index = slice(suffix, self.length)
        for i, (k, v) in enumerate(zip(self.keys, self.values)):
            if k is None:
                continue
            if isinstance(index, slice) or self._key_buffers[i] is None:
                self.keys[i], self.values[i] = k[:, :, index], v[:, :, index]
                if self._key_buffers[i] is not None:
                    self._starts[i] += index.start or 0
                continue
            kept_k, kept_v = k[:, :, index], v[:, :, index]  # copies (advanced indexing)
            kept = kept_k.shape[2]
            self._key_buffers[i][:, :, :kept] = kept_k  # compacted to the buffer's front
            self._value_buffers[i][:, :, :kept] = kept_v
            self.keys[i] = self._key_buffers[i][:, :, :kept]
            self.values[i] = self._value_buffers[i][:, :, :kept]
            self._starts[i] = 0
        self.group_N = self.group_N[index]
        self.frame_N = self.frame_N[index]
        self.valid_BN = self.valid_BN[:, index]


def _suffix_start(index: slice | torch.Tensor, length: int) -> int | None:
    """Where `index` (sorted, distinct) starts when it is the run [start, length)."""
    if isinstance(index, slice) or len(index) == 0:
        return None
    first, last = int(index[0]), int(index[-1])
    return first if last == length - 1 and last - first + 1 == len(index) else None
