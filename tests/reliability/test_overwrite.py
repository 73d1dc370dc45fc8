"""Items 1 and 4: nothing a user made is overwritten without `--overwrite`, and a bad output
name is refused before any work is done."""

from __future__ import annotations

import pytest

from arvideo.cli import main
from arvideo.generate_cli import generate
from arvideo.tokenizer import VideoTokenizer
from arvideo.training.export import export_tokenizer


def test_tokenizer_export_refuses_a_used_folder(tokenizer_checkpoint, tmp_path):
    out = tmp_path / "tokenizer"
    export_tokenizer(str(tokenizer_checkpoint), str(out))
    (out / "model.safetensors").write_bytes(b"the user's own weights")
    with pytest.raises(FileExistsError, match=r"tokenizer.*overwrite"):
        export_tokenizer(str(tokenizer_checkpoint), str(out))
    assert (out / "model.safetensors").read_bytes() == b"the user's own weights"
    main(["tokenizer", "export", str(tokenizer_checkpoint), str(out), "--overwrite", "true"])
    VideoTokenizer.from_pretrained(out)  # replaced by a whole, loadable tokenizer


@pytest.mark.parametrize("name", ["clip.avi", "clip", "clip.mp4.tmp"])
def test_generate_refuses_a_bad_suffix_before_loading_anything(name, tmp_path):
    with pytest.raises(ValueError, match=r"out=.*\.mp4 or \.gif"):
        generate(model=str(tmp_path / "no-model"), out=str(tmp_path / name), progress=False)


def test_generate_refuses_an_existing_file_before_loading_anything(tmp_path):
    out = tmp_path / "rollout.gif"
    out.write_bytes(b"yesterday's rollout")
    with pytest.raises(FileExistsError, match=r"rollout\.gif.*--overwrite"):
        generate(model=str(tmp_path / "no-model"), out=str(out), progress=False)
    assert out.read_bytes() == b"yesterday's rollout"


def test_generate_overwrites_when_asked(tokens, generator_checkpoint, tmp_path):
    from arvideo.training.generator_export import export_generator

    checkpoint = generator_checkpoint(tokens, tmp_path / "g.ckpt")
    model = export_generator(str(checkpoint), str(tmp_path / "m"))
    out = tmp_path / "rollout.gif"
    out.write_bytes(b"yesterday's rollout")
    summary = generate(model=model, out=str(out), num_frames=1, overwrite=True, progress=False)
    assert summary.frames >= 1 and out.read_bytes()[:3] == b"GIF"
