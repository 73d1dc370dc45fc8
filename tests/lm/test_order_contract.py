"""The shared contract every (order, head) pair must meet.

Every registered order × head pair (lm/orders ORDERS × lm/heads HEADS) is covered, plus a few
variants (refinement, bands of rows). A new order or head that needs something of the tiny
test model (a square grid, smaller options) says so in TINY; otherwise it needs nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
import torch

from arvideo.data.batch import TokenBatch
from arvideo.lm.conditioning import Conditions
from arvideo.lm.decoding import DecodeOptions
from arvideo.lm.heads import HEADS
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.orders import ORDERS
from arvideo.lm.streaming import StreamingSession, TokenStream
from arvideo.lm.transformer import Transformer


@dataclass
class Paradigm:
    name: str
    config: dict
    refine_steps: int = 1
    settings: SamplingSettings = field(default_factory=lambda: SamplingSettings(steps=2))


DIFFUSION = dict(head="diffusion", latent_dim=3, head_options=dict(hidden=16, blocks=1))
# next_scale: a square grid equal to the last scale; 1+4+9+16 = 30 tokens per frame
NEXT_SCALE = dict(grid=(3, 4, 4), order_options=dict(scales=(1, 2, 3, 4), code_dim=4))
TINY = {"next_scale": NEXT_SCALE, "diffusion": DIFFUSION}  # by registered name


def registered(order: str, head: str) -> Paradigm:
    """The plain pair; a head predicting latents gets 3 channels unless TINY says more."""
    config = dict(order=order, head=head)
    if HEADS[head].values == "latents":
        config["latent_dim"] = 3
    config.update(TINY.get(order, {}))
    config.update(TINY.get(head, {}))
    name = order if head == "categorical" else f"{order}_{head}"
    return Paradigm(name, config)


PARADIGMS = [
    registered(order, head)
    for order in ORDERS
    for head in HEADS
    if ORDERS[order].accepts(HEADS[head])  # denoising orders take denoiser heads only
] + [
    Paradigm("next_block_s2", dict(order="next_block", refine=True), refine_steps=2),
    Paradigm("next_block_rows", dict(order="next_block", block_rows=1)),
    Paradigm("next_block_s2_diffusion", dict(order="next_block", refine=True, **DIFFUSION), 2),
]


@pytest.fixture(params=PARADIGMS, ids=lambda p: p.name)
def paradigm(request) -> Paradigm:
    return request.param


@pytest.fixture
def make_batch(make_batch):
    """Next-scale values are per-frame scale sequences: codes B×T×L, residuals B×T×L×C."""

    def make(model, batch: int = 2, frames: int | None = None, seed: int = 0) -> TokenBatch:
        tokens = make_batch(model, batch, frames, seed)
        if model.config.order != "next_scale":
            return tokens
        g = torch.Generator().manual_seed(seed)
        B, T = batch, frames or model.config.grid[0]
        L = model.order.tokens_per_frame
        if model.config.head == "categorical":
            return replace(
                tokens, codes=torch.randint(0, model.config.vocab_size, (B, T, L), generator=g)
            )
        return replace(tokens, latents=torch.randn(B, T, L, model.config.latent_dim, generator=g))

    return make


def build(make_model, paradigm: Paradigm, **extra):
    return make_model(num_actions=3, **{**paradigm.config, **extra})


def teacher_forced_z(model, values_BT, actions, reveal_BN=None):
    """Head inputs of one full masked forward over the given token values (for a denoising
    order: every frame clean, at level 0, as sampling commits finished frames)."""
    if model.order.denoising:
        return clean_frames_z(model, values_BT, actions)
    key = "codes" if model.config.head == "categorical" else "latents"
    batch = TokenBatch(**{key: values_BT}, actions=actions)
    if reveal_BN is None and getattr(model.order, "refine", False):
        reveal_BN = torch.zeros(values_BT.shape[:2] + values_BT.shape[2:4], dtype=torch.bool)
        reveal_BN = reveal_BN.flatten(1)
    z, _, _ = model.head_inputs(batch, torch.Generator().manual_seed(0), reveal_BN)
    return z


def clean_frames_z(model, latents_BT, actions):
    T = latents_BT.shape[1]
    x_BNC = model.order.flatten(latents_BT)
    layout = model.order.layout(T)
    cond = model.conditioner(Conditions(actions_BT=actions), T, batch_size=x_BNC.shape[0])
    levels = model.order.level_conditioning(torch.zeros(x_BNC.shape[:2]))
    seq = model.sequence_inputs(model.embed(x_BNC), layout, cond, levels)
    return model.forward_sequence(seq, model.config.window_frames)


def skip_unless_cached(model):
    if model.order.denoising and not model.order.streams:
        pytest.skip("full attention over the clip: nothing is final before the clip, no cache")


def test_mask_never_attends_to_a_later_group(make_model, paradigm):
    model = build(make_model, paradigm)
    layout = model.order.layout(3)
    meta = (layout.group_N, layout.frame_N)
    mask = model.order.mask(meta, meta)
    later = layout.group_N[None, :] > layout.group_N[:, None]
    assert not (mask & later).any()
    assert mask[~later].all()  # and everything not later is visible (block-causal)


def test_changing_a_group_never_changes_earlier_outputs(make_model, make_batch, paradigm):
    model = build(make_model, paradigm)
    batch = make_batch(model)
    values = model.values_of(batch)
    layout = model.order.layout(values.shape[1])
    z = teacher_forced_z(model, values, batch.actions)
    flat = model.order.flatten(values).clone()
    g = layout.num_groups // 2
    in_group = layout.group_N == g
    flat[:, in_group] = flat[:, in_group] + 1 if flat.is_floating_point() else 0
    changed = teacher_forced_z(model, model.order.unflatten(flat, values.shape[1]), batch.actions)
    # a denoising order's input at a slot is its own noisy value: group g itself changes
    earlier = layout.group_N < g if model.order.denoising else layout.group_N <= g
    torch.testing.assert_close(changed[:, earlier], z[:, earlier])
    assert not torch.allclose(changed[:, ~earlier], z[:, ~earlier])


def test_layout_positions_and_shapes(make_model, paradigm):
    model = build(make_model, paradigm)
    T, H, W = 4, *model.config.grid[1:]
    layout = model.order.layout(T)
    N = T * model.order.tokens_per_frame  # H * W, or the sum of the scales' areas
    assert len(layout) == N == layout.positions_N4.shape[0]
    assert model.order.tokens_per_frame == (H * W if model.config.order != "next_scale" else 30)
    assert (layout.group_N.diff() >= 0).all() and layout.group_N[0] == 0
    assert layout.frame_N.min() == 0 and layout.frame_N.max() == T - 1
    t, h, w, scale = layout.positions_N4.unbind(1)  # next_scale: (h, w) in finest-grid units
    assert (t == layout.frame_N).all() and h.max() == H - 1 and w.max() == W - 1
    assert h.min() >= 0 and w.min() >= 0
    assert len(set(zip(t.tolist(), h.tolist(), w.tolist(), scale.tolist()))) == N


def test_finite_loss_and_gradients(make_model, make_batch, paradigm, generator):
    model = build(make_model, paradigm).train()
    out = model.loss(make_batch(model), generator)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    out.loss.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_sampling_shape_and_context(make_model, make_batch, paradigm, generator):
    model = build(make_model, paradigm)
    batch = make_batch(model)
    context = model.values_of(batch)[:, :1]
    out = model.generate(
        context, Conditions(actions_BT=batch.actions), 4, paradigm.settings,
        generator=generator, refine_steps=paradigm.refine_steps,
    )  # fmt: skip
    assert out.values.shape == (2, 4) + context.shape[2:]
    torch.testing.assert_close(out.values[:, :1], context)
    if model.config.head == "categorical":
        assert out.values.min() >= 0 and out.values.max() < model.config.vocab_size


@pytest.mark.parametrize("cfg_scale", [1.0, 3.0])
def test_full_forward_equals_kv_cached_decoding(
    make_model, make_batch, paradigm, generator, cfg_scale
):
    model = build(make_model, paradigm, num_labels=2)
    skip_unless_cached(model)
    batch = make_batch(model)
    context = model.values_of(batch)[:, :1]
    out = model.generate(
        context, Conditions(actions_BT=batch.actions), 3, paradigm.settings, cfg_scale,
        generator, refine_steps=paradigm.refine_steps,
    )  # fmt: skip
    full = teacher_forced_z(model, out.values, batch.actions, out.reveal_BN)
    torch.testing.assert_close(out.z_BND, full, atol=1e-5, rtol=1e-4)


def test_sliding_window_equals_windowed_full_forward(make_model, make_batch, paradigm, generator):
    """Generation past the trained length (3 frames) with a 1-frame window: the cached,
    windowed decoder matches one full forward under the same frame-band mask."""
    model = build(make_model, paradigm, window_frames=1)
    skip_unless_cached(model)
    batch = make_batch(model, frames=5)
    context = model.values_of(batch)[:, :2]
    out = model.generate(
        context, Conditions(actions_BT=batch.actions), 5, paradigm.settings,
        generator=generator, refine_steps=paradigm.refine_steps,
    )  # fmt: skip
    full = teacher_forced_z(model, out.values, batch.actions, out.reveal_BN)
    torch.testing.assert_close(out.z_BND, full, atol=1e-5, rtol=1e-4)
    unwindowed = build(make_model, paradigm)
    far = teacher_forced_z(unwindowed, out.values, batch.actions, out.reveal_BN)
    assert not torch.allclose(far[:, -4:], full[:, -4:], atol=1e-4)  # the window matters


@pytest.mark.parametrize("window", [None, 1])
def test_slot_cache_decoding_equals_full_forward(
    make_model, make_batch, paradigm, generator, monkeypatch, window
):
    """`compile=True`'s slot cache (run eagerly here; test_slot_cache.py compiles it once)
    decodes what one full forward computes: guidance doubling the batch, refinement
    look-aheads rolled back, a 1-frame window freeing slots that later frames reuse."""
    monkeypatch.setattr(Transformer, "_compiled_slot_body", lambda self: self._slot_body)
    model = build(make_model, paradigm, num_labels=2, window_frames=window)
    skip_unless_cached(model)
    frames = 3 if window is None else 5
    batch = make_batch(model, frames=frames)
    context = model.values_of(batch)[:, :1]
    out = model.generate(
        context, Conditions(actions_BT=batch.actions), frames, paradigm.settings, 3.0,
        generator, refine_steps=paradigm.refine_steps, compile=True,
    )  # fmt: skip
    full = teacher_forced_z(model, out.values, batch.actions, out.reveal_BN)
    torch.testing.assert_close(out.z_BND, full, atol=1e-5, rtol=1e-4)


def test_action_at_t_never_changes_frames_up_to_t(make_model, make_batch, paradigm):
    model = build(make_model, paradigm)
    batch = make_batch(model)
    values = model.values_of(batch)
    layout = model.order.layout(values.shape[1])
    t = 1
    z = teacher_forced_z(model, values, batch.actions)
    actions = batch.actions.clone()
    actions[:, t] = (actions[:, t] + 1) % model.config.num_actions
    z_changed = teacher_forced_z(model, values, actions)
    # groups before frame t + 1's first group (frames <= t for every causal order; nothing
    # for full attention, where frame t + 1 shares the one group with all frames)
    up_to_t = layout.group_N < layout.group_N[layout.frame_N == t + 1].min()
    torch.testing.assert_close(z_changed[:, up_to_t], z[:, up_to_t])
    assert not torch.allclose(z_changed[:, layout.frame_N == t + 1], z[:, layout.frame_N == t + 1])


def test_streaming_equals_generate_or_is_refused(make_model, make_batch, paradigm):
    """An order that streams samples frame by frame exactly what one generate call samples
    (same seed, guidance with a linear schedule); one that cannot stream says so."""
    model = build(make_model, paradigm)
    seeded = torch.Generator().manual_seed(7)
    options = DecodeOptions(paradigm.settings, 2.0, "linear", seeded, None, paradigm.refine_steps)
    if not model.order.streams:
        with pytest.raises(ValueError, match="stream"):
            StreamingSession(model, 2, options)
        return
    batch = make_batch(model)
    context = model.values_of(batch)[:, :1]
    whole = model.decode(context, Conditions(actions_BT=batch.actions), 3, options)
    stream = TokenStream(
        StreamingSession(model, 2, replace(options, generator=torch.Generator().manual_seed(7))),
        total_frames=3,
    )
    passes = stream.prefill(context, batch.actions)
    frames = [stream.step(batch.actions[:, t - 1]) for t in (1, 2)]
    assert [f.frame for f in frames] == [1, 2]
    streamed = torch.stack([f.values for f in frames], dim=1)
    torch.testing.assert_close(streamed, whole.values[:, 1:], atol=1e-5, rtol=1e-4)
    assert passes + sum(f.forward_passes for f in frames) == whole.forward_passes
