"""Next-scale order (VAR for video): layout and mask, the tokenizer's multi-scale arithmetic
(exact reconstruction, frozen, saved with the LM), scale-by-scale sampling, and a tiny model
on real Pong tokens against the unigram baseline. The shared contract is in
test_order_contract.py."""

from __future__ import annotations

import math

import pytest
import torch

from arvideo.data.batch import TokenBatch
from arvideo.lm.conditioning import Conditions
from arvideo.lm.decoding import DecodeOptions, DecodingSession
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.model import VideoLM
from arvideo.lm.orders.next_scale import NextScaleOrder, tokenizer_options
from arvideo.lm.orders.scale_inputs import LatentScales
from arvideo.tokenizer.config import BottleneckConfig, TokenizerConfig
from arvideo.tokenizer.model import VideoTokenizer

SCALES = (1, 2, 4, 8)  # 85 tokens per frame on an 8×8 latent grid


def tiny_tokenizer(codebook: int = 32, seed: int = 0, residual: bool = True) -> VideoTokenizer:
    """A random-initialised msvq tokenizer: 64×64 frames -> 8×8×4 latents (residual scales,
    or a pyramid)."""
    torch.manual_seed(seed)  # construction only
    config = TokenizerConfig(
        widths=(8, 8, 8, 8),
        latent_dim=4,
        norm_groups=4,
        spatial_compression=8,
        bottleneck=BottleneckConfig(
            kind="msvq", codebook_size=codebook, scales=SCALES, residual=residual
        ),
    )
    return VideoTokenizer(config).eval()


def next_scale_model(make_model, tokenizer: VideoTokenizer | None = None, **overrides):
    options = tokenizer_options(tokenizer) if tokenizer else dict(scales=SCALES, code_dim=4)
    vocab = tokenizer.vocab_size if tokenizer else 11
    config = dict(order="next_scale", grid=(3, 8, 8), vocab_size=vocab, order_options=options)
    model = make_model(**{**config, **overrides})
    if tokenizer is not None:
        model.order.load_tokenizer(tokenizer)
    return model


def test_layout_groups_positions_and_mask(make_model):
    order = next_scale_model(make_model).order
    layout = order.layout(2)
    L, K = order.tokens_per_frame, len(SCALES)
    assert L == 85 and len(layout) == 2 * L
    expected_group = torch.cat([torch.full((s * s,), k) for k, s in enumerate(SCALES)])
    assert torch.equal(layout.group_N[:L], expected_group)
    assert torch.equal(layout.group_N[L:], expected_group + K)
    positions = layout.positions_N4
    assert positions[0].tolist() == [0.0, 3.5, 3.5, 0.0]  # the 1×1 scale sits at the centre
    assert positions[1:3, 1:3].tolist() == [[1.5, 1.5], [1.5, 5.5]]  # 2×2: centres of quarters
    assert torch.equal(positions[L - 64 : L, 1], torch.arange(8.0).repeat_interleave(8))
    meta = (layout.group_N, layout.frame_N)
    mask = order.mask(meta, meta)
    q = L + 1 + 4  # frame 1, first token of scale 2
    assert mask[q, : L + 5].all()  # all of frame 0, scales 0 and 1 of frame 1
    assert mask[q, L + 5 : L + 21].all()  # its own scale
    assert not mask[q, L + 21 :].any()  # not the finest scale of its frame


def test_teacher_forcing_inputs_reconstruct_the_tokenizers_latent():
    tokenizer = tiny_tokenizer()
    video = torch.rand(2, 3, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        encoded = tokenizer.encode(video)
    order = NextScaleOrder((8, 8), 16, None, vocab_size=32, **tokenizer_options(tokenizer))
    order.load_tokenizer(tokenizer)
    scale_pass = order.arithmetic.run(encoded.codes)
    torch.testing.assert_close(scale_pass.latents_BCTHW, encoded.latents)
    torch.testing.assert_close(scale_pass.latents_BCTHW, tokenizer.codes_to_latents(encoded.codes))
    bottleneck = tokenizer.bottleneck
    torch.testing.assert_close(
        scale_pass.inputs_BTMC, bottleneck.teacher_forcing_inputs(encoded.codes)
    )
    # the input of the finest scale is the latent without the finest residual
    last = bottleneck.split_codes(encoded.codes)[-1].flatten(0, 1)
    finest = bottleneck._decoded_residual(last, len(SCALES) - 1)
    latent_BTNC = encoded.latents.permute(0, 2, 3, 4, 1).flatten(2, 3)
    finest_BTNC = finest.unflatten(0, (2, 3)).permute(0, 1, 3, 4, 2).flatten(2, 3)
    torch.testing.assert_close(scale_pass.inputs_BTMC[:, :, -64:], latent_BTNC - finest_BTNC)


def test_pyramid_codes_give_inputs_from_each_coarser_scale_alone():
    """msvq residual=False: the order reads the pyramid from the tokenizer's options, its
    finished latent is the tokenizer's, and scale k's input is scale k-1's level pooled."""
    tokenizer = tiny_tokenizer(residual=False)
    video = torch.rand(1, 3, 2, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        encoded = tokenizer.encode(video)
    options = tokenizer_options(tokenizer)
    assert options["residual"] is False
    order = NextScaleOrder((8, 8), 16, None, vocab_size=32, **options)
    order.load_tokenizer(tokenizer)
    scale_pass = order.arithmetic.run(encoded.codes)
    torch.testing.assert_close(scale_pass.latents_BCTHW, encoded.latents)
    bottleneck = tokenizer.bottleneck
    codes_4x4 = bottleneck.split_codes(encoded.codes)[2].flatten(0, 1)
    level = bottleneck._decoded_residual(codes_4x4, 2)  # F×C×8×8: on the finest grid already
    level_BTNC = level.unflatten(0, (1, 2)).permute(0, 1, 3, 4, 2).flatten(2, 3)
    torch.testing.assert_close(scale_pass.inputs_BTMC[:, :, -64:], level_BTNC)
    residual_order = NextScaleOrder(
        (8, 8), 16, None, vocab_size=32, **tokenizer_options(tiny_tokenizer())
    )
    with pytest.raises(ValueError, match="residual"):
        residual_order.load_tokenizer(tokenizer)


def test_continuous_pyramid_round_trip():
    scales = LatentScales((1, 2, 3, 6), latent_dim=3)
    latents = torch.randn(2, 4, 6, 6, 3, generator=torch.Generator().manual_seed(0))
    pyramid = scales.decompose(latents)
    assert pyramid.shape == (2, 4, 1 + 4 + 9 + 36, 3)
    torch.testing.assert_close(pyramid[:, :, 0], latents.mean(dim=(2, 3)))  # area mean
    torch.testing.assert_close(scales.compose(pyramid), latents, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="latents must be"):
        scales.decompose(latents[:, :, :5])


def test_continuous_pooled_pyramid_round_trip():
    """residual=False: every scale is the latent pooled; the last scale is the latent."""
    scales = LatentScales((1, 2, 6), latent_dim=3, residual=False)
    latents = torch.randn(1, 2, 6, 6, 3, generator=torch.Generator().manual_seed(0))
    pyramid = scales.decompose(latents)
    torch.testing.assert_close(pyramid[:, :, 0], latents.mean(dim=(2, 3)))
    torch.testing.assert_close(pyramid[:, :, 5:], latents.flatten(2, 3))
    torch.testing.assert_close(scales.compose(pyramid), latents)
    changed = pyramid.clone()
    changed[:, :, :5] += 1.0  # coarse scales do not enter the latent
    torch.testing.assert_close(scales.compose(changed), latents)


def test_tokenizer_weights_are_frozen_and_saved(tmp_path, make_model, generator):
    tokenizer = tiny_tokenizer()
    model = next_scale_model(make_model, tokenizer, num_actions=3).train()
    arithmetic = model.order.arithmetic
    frozen = dict(arithmetic.bottleneck.named_parameters())
    assert frozen and not any(p.requires_grad for p in frozen.values())
    assert bool(arithmetic.loaded)
    codes = torch.randint(0, 32, (2, 3, 85), generator=generator)
    batch = TokenBatch(codes=codes, actions=torch.zeros(2, 3, dtype=torch.long))
    model.loss(batch, generator).loss.backward()
    assert all(p.grad is None for p in frozen.values())
    assert model.order.input_proj.weight.grad is not None  # the projection is trained
    model.save_pretrained(tmp_path / "lm")
    loaded = VideoLM.from_pretrained(tmp_path / "lm")
    assert bool(loaded.order.arithmetic.loaded)
    torch.testing.assert_close(
        loaded.order.arithmetic.bottleneck.codebook.weight, tokenizer.bottleneck.codebook.weight
    )
    g = torch.Generator
    torch.testing.assert_close(
        loaded.loss(batch, g().manual_seed(0)).loss, model.loss(batch, g().manual_seed(0)).loss
    )


def test_errors_name_the_bad_argument(make_model):
    model = next_scale_model(make_model)
    with pytest.raises(ValueError, match="B×T×L"):
        model.order.flatten(torch.zeros(1, 2, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="square latent grid"):
        next_scale_model(make_model, grid=(3, 8, 6))
    with pytest.raises(ValueError, match="strictly increasing"):
        next_scale_model(make_model, order_options=dict(scales=(1, 4, 2, 8)))
    with pytest.raises(ValueError, match="disagrees"):
        other = tiny_tokenizer()
        other.bottleneck.refiners = other.bottleneck.refiners[:2]
        model.order.load_tokenizer(other)
    with pytest.raises(ValueError, match="refine_steps"):
        model.generate(None, None, 2, refine_steps=2)


class RecordingDecoder:
    """Wraps a DecodingSession; records every run's span and every CFG fraction."""

    def __init__(self, session: DecodingSession):
        self.session, self.batch_size = session, session.batch_size
        self.spans, self.fractions = [], []

    def embed(self, values):
        return self.session.embed(values)

    def run(self, inputs, start, stop, commit):
        self.spans.append((start, stop))
        return self.session.run(inputs, start, stop, commit)

    def sample(self, step, fraction):
        self.fractions.append(fraction)
        return self.session.sample(step, fraction)


def test_one_forward_per_scale_and_cfg_ramp_over_scales(make_model, generator):
    model = next_scale_model(make_model, num_labels=2)
    conditions = Conditions(labels_B=torch.tensor([0, 1]))
    settings = SamplingSettings(top_k=5)
    options = DecodeOptions(settings, 2.0, "linear", generator)
    session = DecodingSession(model, conditions, 3, 2, options)
    decoder = RecordingDecoder(session)
    context = torch.randint(0, 11, (2, 85), generator=generator)
    trace = model.order.generate(decoder, session.layout, context, generator)
    assert trace.forward_passes == 1 + 2 * len(SCALES)  # prefill, then K per frame
    ends = [85, 86, 90, 106, 170, 171, 175, 191, 255]
    assert decoder.spans == [(0, 85)] + list(zip(ends[:-1], ends[1:]))
    assert decoder.fractions == [0.0, 1 / 3, 2 / 3, 1.0] * 2
    assert trace.values.shape == (2, 3 * 85)


def test_diffusion_generates_pyramids_that_compose_to_latents(make_model, generator):
    diffusion = dict(head="diffusion", latent_dim=4, head_options=dict(hidden=16, blocks=1))
    model = next_scale_model(make_model, **diffusion)
    pyramid = model.order.arithmetic.decompose(torch.randn(2, 1, 8, 8, 4, generator=generator))
    out = model.generate(pyramid, None, 2, SamplingSettings(steps=2), generator=generator)
    assert out.values.shape == (2, 2, 85, 4) and out.forward_passes == 1 + len(SCALES)
    latents = model.order.arithmetic.compose(out.values)
    assert latents.shape == (2, 2, 8, 8, 4) and torch.isfinite(latents).all()


# -- a tiny model on real Pong tokens ---------------------------------------------------------


def encode_pong(pong_dir, tokenizer: VideoTokenizer) -> dict[str, TokenBatch]:
    """The first 3 frames of every clip of both splits as msvq codes; the codebook is first
    set to random encoder features (a data-initialised codebook: a random one collapses onto
    few codes)."""
    from arvideo.data.datamodule import VideoDataModule

    data = VideoDataModule(path=str(pong_dir), batch_size=32, shuffle_buffer=0)
    videos = {s: [b for b in data.loader(s)] for s in ("train", "val")}
    frames = 3
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        features = tokenizer.encoder(videos["train"][0].video[:4])
        pool = features.permute(0, 2, 3, 4, 1).reshape(-1, features.shape[1])
        pick = torch.randperm(pool.shape[0], generator=g)[: tokenizer.vocab_size]
        tokenizer.bottleneck.codebook.weight.copy_(pool[pick])
        return {
            split: TokenBatch(
                codes=torch.cat([tokenizer.encode(b.video[:, :, :frames]).codes for b in batches]),
                actions=torch.cat([b.actions[:, :frames] for b in batches]),
            )
            for split, batches in videos.items()
        }


def unigram_nats(train_codes: torch.Tensor, val_codes: torch.Tensor, vocab: int) -> float:
    counts = torch.bincount(train_codes.flatten(), minlength=vocab).float() + 1.0
    logp = (counts / counts.sum()).log()
    return float(-logp[val_codes.flatten()].mean())


@pytest.mark.slow
def test_tiny_model_on_pong_beats_unigram(pong_dir, make_model):
    tokenizer = tiny_tokenizer()
    tokens = encode_pong(pong_dir, tokenizer)
    train, val = tokens["train"], tokens["val"]
    baseline = unigram_nats(train.codes, val.codes, tokenizer.vocab_size)
    assert len(torch.unique(train.codes)) > 8  # the tokens are not degenerate
    model = next_scale_model(
        make_model, tokenizer, grid=(3, 8, 8), num_actions=6, cond_dropout=0.0
    ).train()
    model.load_state_dict(type(model)(model.config).state_dict())  # fresh, not randomized
    model.order.load_tokenizer(tokenizer)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=3e-3, weight_decay=0.0
    )
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        index = torch.randint(len(train), (4,), generator=g)
        batch = TokenBatch(codes=train.codes[index], actions=train.actions[index])
        optimizer.zero_grad()
        model.loss(batch, g).loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        nll = float(model.loss(val).metrics["nll"])
    print(f"pong next_scale val nll {nll:.3f} nats vs unigram {baseline:.3f}")
    assert math.isfinite(nll) and nll < 0.7 * baseline, (nll, baseline)
