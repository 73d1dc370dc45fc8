import json

import pytest
import torch

from arvideo.tokenizer import BottleneckConfig, VideoTokenizer
from arvideo.tokenizer.bottleneck import BOTTLENECKS, build_bottleneck
from arvideo.tokenizer.config import BOTTLENECK_KINDS

KINDS = BOTTLENECK_KINDS
QUANTIZED = tuple(kind for kind, cls in BOTTLENECKS.items() if cls.values == "codes")


def test_registry_builds_every_kind_and_answers_for_it(make_tokenizer):
    assert tuple(BOTTLENECKS) == KINDS
    for kind in KINDS:
        model = make_tokenizer(kind)
        assert type(model.bottleneck) is BOTTLENECKS[kind] and kind in BOTTLENECKS[kind].kinds
        assert model.is_continuous == (BOTTLENECKS[kind].values == "latents")
        assert (model.scales is not None) == (kind == "msvq")
    config = BottleneckConfig()
    config.kind = "pq"  # past the config's own check
    with pytest.raises(ValueError, match="bottleneck.kind"):
        build_bottleneck(config, 8)


@pytest.mark.parametrize("kind", QUANTIZED)
@pytest.mark.parametrize("temporal", [1, 2])
def test_decode_codes_equals_decode_latents(kind, temporal, make_tokenizer, make_video):
    model = make_tokenizer(kind, temporal)
    video = make_video(2, 5, 16, 16)
    model.train()
    model(video)  # one training pass: k-means / EMA state, then freeze
    model.eval()
    with torch.no_grad():
        out = model.encode(video)
        latents = model.codes_to_latents(out.codes)
        torch.testing.assert_close(latents, out.latents, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            model.decode_codes(out.codes), model.decode(out.latents), atol=1e-5, rtol=1e-5
        )
    frames = 1 + 4 // temporal
    expected = {
        "rvq": (2, frames, 4, 4, 2),
        "msvq": (2, frames, 1 + 4 + 16),
    }.get(kind, (2, frames, 4, 4))
    assert out.codes.shape == expected
    assert int(out.codes.min()) >= 0 and int(out.codes.max()) < model.vocab_size


def test_constants(make_tokenizer):
    rvq = make_tokenizer("rvq", temporal=2)
    assert (rvq.vocab_size, rvq.code_depth, rvq.scales) == (64, 2, None)
    assert (rvq.temporal_compression, rvq.spatial_compression, rvq.latent_dim) == (2, 4, 8)
    assert make_tokenizer("fsq").vocab_size == 4 * 4 * 4
    assert make_tokenizer("msvq").scales == (1, 2, 4)
    assert make_tokenizer("continuous").vocab_size == 0


@pytest.mark.parametrize("residual", [True, False])
def test_msvq_teacher_forcing_and_sampling_agree(residual, make_tokenizer, make_video):
    options = {"residual": residual}
    model = make_tokenizer("msvq", temporal=2, bottleneck_options=options).eval()
    msvq = model.bottleneck
    with torch.no_grad():
        codes = model.encode(make_video(2, 3, 16, 16)).codes  # B×T×L
        inputs = msvq.teacher_forcing_inputs(codes)
        assert inputs.shape == (2, 2, 4 + 16, 8)
        partial, step_inputs = None, []
        for k, codes_k in enumerate(msvq.split_codes(codes)):
            step = msvq.next_scale_input(partial, codes_k, k)
            partial = step.partial_sum
            if step.next_input is not None:
                step_inputs.append(step.next_input)
        assert step.next_input is None and k == len(msvq.scales) - 1
        torch.testing.assert_close(torch.cat(step_inputs, dim=2), inputs)
        # with all true codes, the last partial sum is the final latent
        torch.testing.assert_close(partial, model.codes_to_latents(codes), atol=1e-6, rtol=0)
        torch.testing.assert_close(partial, model.encode(make_video(2, 3, 16, 16)).latents)
        # the input of the finest scale is the latent minus its finest residual: not zero
        assert inputs[:, :, 4:].abs().sum() > 0


@pytest.mark.parametrize("residual", [True, False])
def test_msvq_latent_reads_coarse_codes_only_when_residual(residual, make_tokenizer, make_video):
    """A pyramid's latent is its last scale alone: other coarse codes leave it unchanged."""
    options = {"residual": residual}
    model = make_tokenizer("msvq", bottleneck_options=options).eval()
    with torch.no_grad():
        codes = model.encode(make_video(1, 2, 16, 16)).codes
        coarse = 1 + 4  # scales 1, 2 of (1, 2, 4)
        other = codes.clone()
        other[..., :coarse] = (codes[..., :coarse] + 1) % model.vocab_size
        same = torch.equal(model.codes_to_latents(other), model.codes_to_latents(codes))
    assert same == (not residual)


def test_msvq_rejects_wrong_grid(make_tokenizer, make_video):
    model = make_tokenizer("msvq")
    with pytest.raises(ValueError, match="scales"):
        model.encode(make_video(1, 1, 32, 32))


def test_continuous_latents_are_normalised(make_tokenizer, make_video):
    model = make_tokenizer("continuous").eval()
    video = make_video(4, 3, 16, 16)
    model.set_latent_statistics(video)
    with torch.no_grad():
        latents = model.encode(video).latents
        per_channel = latents.transpose(0, 1).flatten(1)
        torch.testing.assert_close(per_channel.mean(1), torch.zeros(8), atol=1e-4, rtol=0)
        torch.testing.assert_close(per_channel.std(1), torch.ones(8), atol=1e-3, rtol=0)
        # decode undoes the normalisation: same video as before normalising
        raw = model.encoder(video)
        expected = model.decoder(model.bottleneck.raw_latents(raw)[1])
        torch.testing.assert_close(model.decode(latents), expected, atol=1e-4, rtol=1e-4)
    with pytest.raises(TypeError):
        model.decode_codes(torch.zeros(1, 1, 4, 4, dtype=torch.long))


def test_continuous_sampling_uses_the_generator(make_tokenizer, make_video):
    model = make_tokenizer("continuous").train()
    video = make_video(1, 1, 16, 16)
    a = model.encode(video, torch.Generator().manual_seed(1)).latents
    b = model.encode(video, torch.Generator().manual_seed(1)).latents
    c = model.encode(video, torch.Generator().manual_seed(2)).latents
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_identical(kind, make_tokenizer, make_video, tmp_path):
    model = make_tokenizer(kind, temporal=2)
    video = make_video(2, 3, 16, 16)
    model.train()
    model(video)  # moves EMA / k-means buffers away from their initial values
    if kind == "continuous":
        model.set_latent_statistics(video)
    model.eval()
    model.save_pretrained(tmp_path / "tok")
    assert sorted(p.name for p in (tmp_path / "tok").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    loaded = VideoTokenizer.from_pretrained(tmp_path / "tok").eval()
    assert loaded.config == model.config
    with torch.no_grad():
        a, b = model(video), loaded(video)
    assert torch.equal(a.video, b.video)
    assert (a.encoded.codes is None) or torch.equal(a.encoded.codes, b.encoded.codes)


def test_missing_or_corrupt_folder(make_tokenizer, tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        VideoTokenizer.from_pretrained(tmp_path / "nothing")
    make_tokenizer("fsq").save_pretrained(tmp_path / "tok")
    (tmp_path / "tok" / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="corrupt"):
        VideoTokenizer.from_pretrained(tmp_path / "tok")
    (tmp_path / "tok" / "config.json").write_text(json.dumps({"widths": [8], "bogus": 1}))
    with pytest.raises(ValueError, match="bogus"):
        VideoTokenizer.from_pretrained(tmp_path / "tok")


def test_fsq_noise_dropout_trains_with_noise_and_evaluates_with_codes(make_tokenizer, make_video):
    bottleneck = BottleneckConfig(kind="fsq", fsq_levels=(4, 4, 4), fsq_noise_dropout=0.5)
    model = make_tokenizer("fsq", bottleneck=bottleneck)
    video = make_video(2, 1, 16, 16)
    train_latents = model.encode(video).latents
    model.eval()
    with torch.no_grad():
        out = model.encode(video)
    assert torch.allclose(model.codes_to_latents(out.codes), out.latents, atol=1e-6)
    assert not torch.allclose(train_latents, out.latents)  # noise replaced some roundings
    with pytest.raises(ValueError, match="fsq_noise_dropout"):
        BottleneckConfig(kind="fsq", fsq_noise_dropout=1.0)
