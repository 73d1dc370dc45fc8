"""The shared contract every (order, head) pair must meet.

To cover a new paradigm (next_scale, another head), add one `Paradigm` to PARADIGMS.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
import torch

from arvideo.data.batch import TokenBatch
from arvideo.lm.conditioning import Conditions
from arvideo.lm.heads.base import SamplingSettings


@dataclass
class Paradigm:
    name: str
    config: dict
    refine_steps: int = 1
    settings: SamplingSettings = field(default_factory=lambda: SamplingSettings(steps=2))


DIFFUSION = dict(head="diffusion", latent_dim=3, head_options=dict(hidden=16, blocks=1))
# next_scale: a square grid equal to the last scale; 1+4+9+16 = 30 tokens per frame
NEXT_SCALE = dict(grid=(3, 4, 4), order_options=dict(scales=(1, 2, 3, 4), code_dim=4))
PARADIGMS = [
    Paradigm("next_token", dict(order="next_token")),
    Paradigm("next_block_s1", dict(order="next_block")),
    Paradigm("next_block_s2", dict(order="next_block", refine=True), refine_steps=2),
    Paradigm("next_block_rows", dict(order="next_block", block_rows=1)),
    Paradigm("next_token_diffusion", dict(order="next_token", **DIFFUSION)),
    Paradigm("next_block_s2_diffusion", dict(order="next_block", refine=True, **DIFFUSION), 2),
    Paradigm("next_scale", dict(order="next_scale", **NEXT_SCALE)),
    Paradigm("next_scale_diffusion", dict(order="next_scale", **NEXT_SCALE, **DIFFUSION)),
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
    """Head inputs of one full masked forward over the given token values."""
    key = "codes" if model.config.head == "categorical" else "latents"
    batch = TokenBatch(**{key: values_BT}, actions=actions)
    if reveal_BN is None and getattr(model.order, "refine", False):
        reveal_BN = torch.zeros(values_BT.shape[:2] + values_BT.shape[2:4], dtype=torch.bool)
        reveal_BN = reveal_BN.flatten(1)
    z, _, _ = model.head_inputs(batch, torch.Generator().manual_seed(0), reveal_BN)
    return z


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
    earlier = layout.group_N <= g
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
    up_to_t = layout.frame_N <= t
    torch.testing.assert_close(z_changed[:, up_to_t], z[:, up_to_t])
    assert not torch.allclose(z_changed[:, layout.frame_N == t + 1], z[:, layout.frame_N == t + 1])
