"""StreamingDecoder: frame-by-frame decode == the whole clip's decode, bounded state."""

import pytest
import torch

from arvideo.tokenizer.streaming import StreamingDecoder

# (temporal r, spatial, patch_size, widths); None = the conftest widths for that spatial size
CASES = [
    (1, 4, 1, None),
    (1, 8, 2, (16, 16, 32)),
    (1, 4, 4, (16,)),
    (2, 8, 1, None),
    (2, 8, 4, (16, 32)),
    (4, 16, 2, (16, 16, 16, 32)),
    (1, 8, 2, (16, 16, 32), 1),  # time_kernel 1: convs without history
    (2, 8, 1, None, 1),  # only the temporal up-sampler keeps history
]


def build(make_tokenizer, temporal, spatial, patch, widths, time_kernel=3, kind="fsq"):
    extra = {"patch_size": patch, "time_kernel": time_kernel}
    extra |= {"widths": widths} if widths else {}
    return make_tokenizer(kind, temporal, spatial, **extra).eval()


def random_latents(frames, height=3, width=2, batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 8, frames, height, width, generator=generator)


def to_uint8(video):
    return ((video.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def assert_same_video(streamed, full):
    """Same function: floats to round-off, uint8 identical or one level off on a tiny share."""
    assert streamed.shape == full.shape
    torch.testing.assert_close(streamed, full, rtol=0, atol=1e-5)
    levels = (to_uint8(streamed).int() - to_uint8(full).int()).abs()
    assert levels.max() <= 1 and (levels > 0).float().mean() < 1e-3


def stream(decoder, latents, chunks=None):
    """Step through `latents` in chunks of latent frames (default: one at a time)."""
    chunks = chunks or [1] * latents.shape[2]
    parts, start = [], 0
    for size in chunks:
        parts.append(decoder.step(latents[:, :, start : start + size]))
        start += size
    return parts


@pytest.mark.parametrize("case", CASES)
@torch.no_grad()
def test_frame_by_frame_equals_whole_clip_decode(case, make_tokenizer):
    temporal = case[0]
    model = build(make_tokenizer, *case)
    latents = random_latents(6)
    parts = stream(StreamingDecoder(model), latents)
    assert [p.shape[2] for p in parts] == [1] + [temporal] * 5  # latent 0 makes frame 0 alone
    assert_same_video(torch.cat(parts, dim=2), model.decode(latents))


@pytest.mark.parametrize("temporal", [1, 2])
@torch.no_grad()
def test_chunks_of_any_length_and_continuous_latents(temporal, make_tokenizer):
    """A context decoded in one step, then single frames: the normalised latents of the
    continuous bottleneck pass through `to_decoder_input` as in `decode`."""
    model = build(make_tokenizer, temporal, 8, 2, (16, 16, 32), kind="continuous")
    with torch.no_grad():
        model.bottleneck.set_latent_statistics(random_latents(3, seed=5) * 3 + 1)
    latents = random_latents(7, seed=1)
    parts = stream(StreamingDecoder(model), latents, chunks=[3, 1, 2, 1])
    assert_same_video(torch.cat(parts, dim=2), model.decode(latents))


@torch.no_grad()
def test_history_matters_and_reset_starts_a_new_clip(make_tokenizer):
    model = build(make_tokenizer, 1, 4, 1, None)
    latents = random_latents(5, seed=2)
    decoder = StreamingDecoder(model)
    parts = stream(decoder, latents)
    alone = model.decode(latents[:, :, 4:5])  # frame 4 without its past
    assert (parts[4] - alone).abs().max() > 1e-3
    decoder.reset()
    assert decoder.latent_frames == 0 and decoder.state_numel == 0
    other = random_latents(3, seed=3)
    assert_same_video(torch.cat(stream(decoder, other), dim=2), model.decode(other))


@torch.no_grad()
def test_state_stays_bounded_over_a_long_stream(make_tokenizer):
    model = build(make_tokenizer, 2, 8, 1, None)
    decoder = StreamingDecoder(model)
    latents = random_latents(1, seed=4)
    sizes = []
    for _ in range(60):
        decoder.step(latents)
        sizes.append(decoder.state_numel)
    assert decoder.latent_frames == 60
    assert sizes[1:] == [sizes[1]] * 59 and sizes[1] > 0
    for conv, past in decoder._history.items():  # exactly `time_pad` frames per conv
        assert past.shape[2] == conv.time_pad
        assert past.untyped_storage().nbytes() == past.numel() * past.element_size()


@torch.no_grad()
def test_bad_latents_raise_errors_naming_the_argument(make_tokenizer):
    decoder = StreamingDecoder(build(make_tokenizer, 1, 4, 1, None))
    with pytest.raises(ValueError, match="latents_BCTHW"):
        decoder.step(torch.zeros(1, 5, 1, 3, 2))  # latent_dim is 8
    with pytest.raises(ValueError, match="latents_BCTHW"):
        decoder.step(torch.zeros(1, 8, 0, 3, 2))
    decoder.step(random_latents(1, batch=1))
    with pytest.raises(ValueError, match="reset"):
        decoder.step(random_latents(1, batch=2))  # another batch mid-stream
    with pytest.raises(TypeError, match="tokenizer"):
        StreamingDecoder(torch.nn.Linear(2, 2))
