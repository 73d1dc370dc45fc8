"""Item 1: a token set remembers the content of the tokenizer that made it, and a generator
is never packaged with another tokenizer that happens to sit at the same path."""

from __future__ import annotations

import json
import shutil

import pytest

from arvideo.training.encode import encode
from arvideo.training.generator_export import export_generator

from .conftest import save_tokenizer


def test_token_set_records_the_tokenizer_content_hash(tokens, tokenizer_dir):
    from arvideo.tokenizer.fingerprint import tokenizer_fingerprint

    manifest = json.loads((tokens / "dataset.json").read_text())
    assert manifest["tokenizer_sha256"] == tokenizer_fingerprint(tokenizer_dir)
    assert len(manifest["tokenizer_sha256"]) == 64


def test_export_refuses_a_tokenizer_replaced_after_encoding(clips, generator_checkpoint, tmp_path):
    tokenizer = save_tokenizer(tmp_path / "tokenizer", seed=0)
    tokens = tmp_path / "tokens"
    encode(tokenizer=str(tokenizer), data=str(clips), out=str(tokens), progress=False)
    checkpoint = generator_checkpoint(tokens, tmp_path / "g.ckpt")
    export_generator(str(checkpoint), str(tmp_path / "model-a"))  # the right tokenizer

    shutil.rmtree(tokenizer)
    save_tokenizer(tokenizer, seed=1)  # tokenizer B, same path, same shapes
    recorded = json.loads((tokens / "dataset.json").read_text())["tokenizer_sha256"]
    from arvideo.tokenizer.fingerprint import tokenizer_fingerprint

    found = tokenizer_fingerprint(tokenizer)
    with pytest.raises(ValueError, match=rf"{recorded[:12]}.*{found[:12]}") as error:
        export_generator(str(checkpoint), str(tmp_path / "model-b"))
    assert str(tokenizer) in str(error.value) and str(tokens) in str(error.value)
    assert not (tmp_path / "model-b").exists()
