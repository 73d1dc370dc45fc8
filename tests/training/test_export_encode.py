"""Checkpoint -> tokenizer folder -> token shards -> TokenDataModule batches."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
import torch

from arvideo.data.datamodule import TokenDataModule, VideoDataModule
from arvideo.data.reader import ShardDataset
from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer
from arvideo.training import encode as encode_module
from arvideo.training.encode import encode, frames_used, latent_actions
from arvideo.training.export import export_tokenizer, load_tokenizer_module


def tiny_tokenizer(kind: str, temporal: int = 1, seed: int = 0, **bottleneck) -> VideoTokenizer:
    torch.manual_seed(seed)
    config = TokenizerConfig(
        widths=(16, 16, 16, 16),
        latent_dim=4,
        temporal_compression=temporal,
        bottleneck=BottleneckConfig(kind=kind, codebook_size=64, kmeans_init=False, **bottleneck),
    )
    return VideoTokenizer(config).eval()


def clip_video(pong, count: int = 4):
    """The first `count` clips of the val split, in shard order, as VideoBatch."""
    module = VideoDataModule(path=str(pong), batch_size=count, shuffle_buffer=0)
    return next(iter(module.val_dataloader()))


@pytest.fixture(scope="module")
def exported(fit_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "tokenizer"
    export_tokenizer(str(fit_run), str(out))  # a run folder: checkpoints/last.ckpt
    return out


def test_export_matches_the_checkpoint(fit_run, exported, small_pong):
    module = load_tokenizer_module(fit_run / "checkpoints" / "last.ckpt")
    loaded = VideoTokenizer.from_pretrained(exported).eval()
    video = clip_video(small_pong).video
    with torch.no_grad():
        expected, actual = module.tokenizer(video), loaded(video)
    assert torch.equal(expected.encoded.codes, actual.encoded.codes)
    assert torch.equal(expected.video, actual.video)
    assert module.hparams.usage_window == 7  # rebuilt from the checkpoint's hyperparameters
    with pytest.raises(FileNotFoundError, match="checkpoint="):
        export_tokenizer(str(fit_run / "nothing"), str(fit_run / "x"))


def test_encode_codes_round_trip(exported, small_pong, tmp_path):
    out = tmp_path / "tokens"
    summary = encode(tokenizer=str(exported), data=str(small_pong), out=str(out), progress=False)
    manifest = json.loads((out / "dataset.json").read_text())
    assert summary.complete and manifest["complete"] and summary.clips == 16
    assert manifest["kind"] == "codes" and manifest["vocab_size"] == 1000
    assert manifest["tokenizer"] == str(exported.resolve())
    assert manifest["latent_grid"] == {"frames": 8, "height": 8, "width": 8}
    assert manifest["game"] == "Pong" and manifest["action_space"]["n"] == 6
    assert manifest["splits"]["train"]["clips"] == manifest["splits"]["val"]["clips"] == 8
    # token stability is measured on every split and recorded beside the shards
    assert set(summary.stability) == {"train", "val"} == set(manifest["token_stability"])
    val = manifest["token_stability"]["val"]
    assert val["unchanged_cells"] > 0 and 0 <= val["kept"] <= 1 and val["codes_per_patch"] >= 1
    with tarfile.open(out / "val-000000.tar") as tar:
        names = tar.getnames()
        raw = np.load(
            io.BytesIO(tar.extractfile(names[1]).read()), allow_pickle=False
        )  # sorted: codes first
    assert names[1].endswith(".codes.npy") and raw.dtype == np.int16 and raw.shape == (8, 8, 8)

    batch = next(
        iter(TokenDataModule(path=str(out), batch_size=4, shuffle_buffer=0).val_dataloader())
    )
    assert batch.codes.shape == (4, 8, 8, 8) and batch.codes.dtype == torch.int64
    assert batch.actions.shape == (4, 8) and batch.actions.dtype == torch.int64
    clips = clip_video(small_pong)
    assert [m["key"] for m in batch.meta] == [m["key"] for m in clips.meta]
    assert torch.equal(batch.actions, clips.actions)  # temporal compression 1: unchanged
    tokenizer = VideoTokenizer.from_pretrained(exported).eval()
    with torch.no_grad():
        reconstruction = tokenizer(clips.video)
        decoded = tokenizer.decode_codes(batch.codes)
    assert torch.equal(batch.codes, reconstruction.encoded.codes)
    torch.testing.assert_close(decoded, reconstruction.video, atol=1e-5, rtol=1e-5)


def test_encode_continuous_latents(small_pong, tmp_path):
    tokenizer = tiny_tokenizer("continuous")
    clips = clip_video(small_pong)
    tokenizer.set_latent_statistics(clips.video)
    tokenizer.save_pretrained(tmp_path / "tok")
    encode(tokenizer=str(tmp_path / "tok"), data=str(small_pong), out=str(tmp_path / "t"),
           batch_size=3, progress=False)  # fmt: skip
    manifest = json.loads((tmp_path / "t" / "dataset.json").read_text())
    assert manifest["kind"] == "latents" and manifest["codes_dtype"] is None
    assert manifest["token_shape"] == [8, 8, 8, 4]
    module = TokenDataModule(path=str(tmp_path / "t"), batch_size=4, shuffle_buffer=0)
    batch = next(iter(module.val_dataloader()))
    assert batch.codes is None and batch.latents.dtype == torch.float32
    assert batch.latents.shape == (4, 8, 8, 8, 4)
    with torch.no_grad():
        expected = tokenizer.encode(clips.video).latents.permute(0, 2, 3, 4, 1)
    torch.testing.assert_close(batch.latents, expected, atol=2e-2, rtol=1e-2)  # float16
    assert abs(float(batch.latents.std()) - 1.0) < 0.5  # normalised latents


def test_encode_msvq_with_temporal_compression(small_pong, tmp_path):
    tokenizer = tiny_tokenizer("msvq", temporal=2, scales=(1, 2, 4, 8))
    tokenizer.save_pretrained(tmp_path / "tok")
    encode(tokenizer=str(tmp_path / "tok"), data=str(small_pong), out=str(tmp_path / "t"),
           progress=False)  # fmt: skip
    manifest = json.loads((tmp_path / "t" / "dataset.json").read_text())
    assert manifest["frames_used"] == 7 and manifest["token_shape"] == [4, 1 + 4 + 16 + 64]
    assert manifest["scales"] == [1, 2, 4, 8]
    tokens = {s["__key__"]: s for s in ShardDataset([str(tmp_path / "t" / "val-000000.tar")])}
    clips = clip_video(small_pong)
    first = tokens[clips.meta[0]["key"]]
    assert first["codes"].shape == (4, 85) and first["meta"]["frames_used"] == 7
    assert first["actions"].tolist() == clips.actions[0, [0, 2, 4, 6]].tolist()
    with torch.no_grad():
        expected = tokenizer.encode(clips.video[:1, :, :7]).codes[0]
    assert torch.equal(torch.from_numpy(first["codes"]).long(), expected)


def test_latent_frame_actions_and_lengths():
    assert [frames_used(t, 4) for t in (1, 4, 5, 16, 17)] == [1, 1, 5, 13, 17]
    actions = np.arange(9)  # frames 0..8; r = 4: latent frames {0}, {1..4}, {5..8}
    assert latent_actions(actions, 4, 3).tolist() == [0, 4, 8]
    assert latent_actions(actions, 1, 9).tolist() == list(range(9))


def test_interrupted_encode_keeps_complete_shards(exported, small_pong, tmp_path, monkeypatch):
    calls = []
    real = encode_module.encode_clips

    def interrupt_on_third_batch(*args):
        calls.append(1)
        if len(calls) == 4:  # the first call probes the token shape
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(encode_module, "encode_clips", interrupt_on_third_batch)
    out = tmp_path / "tokens"
    with pytest.raises(KeyboardInterrupt):
        encode(tokenizer=str(exported), data=str(small_pong), out=str(out), batch_size=2,
               shard_size=2, progress=False)  # fmt: skip
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["complete"] is False and manifest["clips"] == 4
    assert sorted(p.name for p in out.iterdir()) == [
        "dataset.json",
        "train-000000.tar",
        "train-000001.tar",
    ]
    with pytest.raises(FileExistsError, match="out="):
        encode(tokenizer=str(exported), data=str(small_pong), out=str(out), progress=False)
