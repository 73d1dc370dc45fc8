"""The frame-denoising orders (full_sequence_flow, next_frame_flow, diffusion_forcing):
masks and causality per noise layout, the training levels of each layout, the velocity
target, and sampling: the autoregressive schedule equals frame-by-frame sampling, guidance
at scale 1 is a no-op, KV-cached streaming equals whole-clip sampling for the same noise
(full-sequence flow and non-autoregressive schedules refuse to stream)."""

from __future__ import annotations

import pytest
import torch

from arvideo.data.batch import TokenBatch
from arvideo.lm.conditioning import Conditions
from arvideo.lm.decoding import DecodeOptions, DecodingSession
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.noise_layouts import frame_levels
from arvideo.lm.schedules import schedule_matrix
from arvideo.lm.streaming import StreamingSession, TokenStream

ORDERS = ["full_sequence_flow", "next_frame_flow", "diffusion_forcing"]
CAUSAL = ["next_frame_flow", "diffusion_forcing"]


def build(make_model, order: str, **extra):
    return make_model(
        **{**dict(order=order, head="velocity", latent_dim=3, num_actions=3), **extra}
    )


def z_of(model, latents, actions, seed: int = 0) -> torch.Tensor:
    batch = TokenBatch(latents=latents, actions=actions)
    z, _, _ = model.head_inputs(batch, torch.Generator().manual_seed(seed))
    return z


def velocity_at(model, x_BNC: torch.Tensor, t_BN: torch.Tensor) -> torch.Tensor:
    """The predicted velocity of noisy tokens at chosen levels (one uncached forward)."""
    layout = model.order.layout(x_BNC.shape[1] // model.order.tokens_per_frame)
    cond = model.conditioner(Conditions(), layout.num_frames, batch_size=x_BNC.shape[0])
    levels = model.order.level_conditioning(t_BN)
    seq = model.sequence_inputs(model.embed(x_BNC), layout, cond, levels)
    return model.head.velocity(model.forward_sequence(seq, None))


@pytest.mark.parametrize("order", ORDERS)
def test_mask_is_full_or_block_causal_by_frame(make_model, order):
    model = build(make_model, order)
    layout = model.order.layout(3)
    meta = (layout.group_N, layout.frame_N)
    mask = model.order.mask(meta, meta)
    if order in CAUSAL:
        assert torch.equal(mask, layout.frame_N[None, :] <= layout.frame_N[:, None])
    else:
        assert mask.all()


@pytest.mark.parametrize("order", CAUSAL)
def test_a_later_frame_never_changes_an_earlier_prediction(make_model, make_batch, order):
    """Content and noise of frame 2 change; frames 0 and 1 predict the same velocity."""
    model = build(make_model, order)
    batch = make_batch(model)
    z = z_of(model, batch.latents, batch.actions)
    later = batch.latents.clone()
    later[:, 2] += 1.0
    changed = z_of(model, later, batch.actions)
    L = model.order.tokens_per_frame
    torch.testing.assert_close(changed[:, : 2 * L], z[:, : 2 * L])
    assert not torch.allclose(changed[:, 2 * L :], z[:, 2 * L :])
    # the same for frame 2's noise level, everything else fixed
    x = model.order.flatten(batch.latents)
    t = torch.rand(2, 3 * L, generator=torch.Generator().manual_seed(1))
    v = velocity_at(model, x, t)
    t_later = t.clone()
    t_later[:, 2 * L :] = 1 - t_later[:, 2 * L :]
    v_later = velocity_at(model, x, t_later)
    torch.testing.assert_close(v_later[:, : 2 * L], v[:, : 2 * L])
    assert not torch.allclose(v_later[:, 2 * L :], v[:, 2 * L :])


def test_full_attention_lets_every_frame_see_every_other(make_model, make_batch):
    model = build(make_model, "full_sequence_flow")
    batch = make_batch(model)
    later = batch.latents.clone()
    later[:, 2] += 1.0
    z, changed = z_of(model, batch.latents, batch.actions), z_of(model, later, batch.actions)
    L = model.order.tokens_per_frame
    assert not torch.allclose(changed[:, :L], z[:, :L])


def test_noise_layouts_draw_the_levels_they_promise():
    g = torch.Generator().manual_seed(0)
    shared = frame_levels("shared", 4, 5, "logit_normal", g, "cpu")
    assert (shared.t_BT == shared.t_BT[:, :1]).all() and shared.weight_BT is None
    # clean context: 0..T-1 leading frames at level 0 and out of the loss, the rest shared
    context = frame_levels("shared", 64, 5, "logit_normal", g, "cpu", clean_context=True)
    clean_BT = context.weight_BT == 0
    assert torch.equal(clean_BT, context.t_BT == 0)
    assert (clean_BT.cummin(dim=1).values == clean_BT).all()  # clean frames lead
    assert set(clean_BT.sum(dim=1).tolist()) == set(range(5))  # no context up to T-1
    lowest = context.t_BT.masked_fill(clean_BT, 2.0).min(dim=1).values
    assert torch.equal(lowest, context.t_BT.max(dim=1).values)  # one level for the rest
    per_frame = frame_levels("per_frame", 4, 5, "uniform", g, "cpu")
    assert per_frame.t_BT.std(dim=1).min() > 0
    clean = frame_levels("next_frame", 64, 5, "uniform", g, "cpu")
    noisy_BT = clean.weight_BT.bool()  # one noisy frame per clip, the only one in the loss
    assert (noisy_BT.sum(dim=1) == 1).all() and (clean.t_BT[noisy_BT] > 0).all()
    assert (clean.t_BT[~noisy_BT] == 0).all()
    where = noisy_BT.float().argmax(dim=1)  # anywhere: every history length is trained
    assert set(where.tolist()) == set(range(5))
    history = frame_levels("next_frame", 64, 5, "uniform", g, "cpu", history_noise=0.1)
    others = history.t_BT[~history.weight_BT.bool()]
    assert (others > 0).all() and (others <= 0.1).all()


@pytest.mark.parametrize("order", ORDERS)
def test_target_is_the_velocity_of_the_drawn_noise(make_model, make_batch, order):
    model = build(make_model, order)
    x0 = model.order.flatten(make_batch(model).latents)
    forcing = model.order.teacher_forcing(x0, model.embed, torch.Generator().manual_seed(3))
    # ε = target + x0 must look like standard normal noise, whatever the levels were
    noise = forcing.target + x0
    assert abs(float(noise.mean())) < 0.5 and 0.6 < float(noise.std()) < 1.4
    assert forcing.cond_BND.shape == forcing.inputs_BND.shape


def session(model, frames: int, settings: SamplingSettings) -> DecodingSession:
    options = DecodeOptions(settings, generator=torch.Generator().manual_seed(0))
    return DecodingSession(model, Conditions(), frames, 2, options)


@pytest.mark.parametrize("order", CAUSAL)
@pytest.mark.parametrize("solver", ["euler", "heun"])
def test_autoregressive_schedule_equals_frame_by_frame_sampling(make_model, order, solver):
    model = build(make_model, order, num_actions=0)
    settings = SamplingSettings(steps=3, solver=solver)
    T, L, C = 3, model.order.tokens_per_frame, 3
    x1 = torch.randn(2, T * L, C, generator=torch.Generator().manual_seed(5))
    whole_session = session(model, T, settings)
    levels = schedule_matrix("autoregressive", T, 1, 3)
    whole = model.order.denoise(whole_session, whole_session.layout, x1, levels)
    done = x1[:, :L]  # frame 0 is the context
    for f in range(1, T):  # frame f alone, over a clip of f + 1 frames
        part = session(model, f + 1, settings)
        start = torch.cat([done, x1[:, f * L : (f + 1) * L]], dim=1)
        one = schedule_matrix("full_sequence", f + 1, f, 3)
        done = model.order.denoise(part, part.layout, start, one).values
    torch.testing.assert_close(whole.values, done, atol=1e-5, rtol=1e-4)
    per_row = 1 if solver == "euler" else 2
    assert whole.forward_passes == (T - 1) * 3 * per_row


@pytest.mark.parametrize("order", ORDERS)
def test_generate_keeps_context_and_guidance_one_is_a_no_op(make_model, make_batch, order):
    model = build(make_model, order)
    batch = make_batch(model)
    context, cond = batch.latents[:, :1], Conditions(actions_BT=batch.actions)
    settings = SamplingSettings(steps=2, stabilization=0.1)

    def run(scale: float, **options):
        g = torch.Generator().manual_seed(9)
        return model.generate(context, cond, 3, settings, scale, g, **options)

    plain = run(1.0)
    assert plain.values.shape == batch.latents.shape and torch.isfinite(plain.values).all()
    torch.testing.assert_close(plain.values[:, :1], context)
    assert not torch.allclose(run(3.0).values, plain.values)
    pyramid = SamplingSettings(steps=2, schedule="pyramid", uncertainty=1)
    g = torch.Generator().manual_seed(9)
    assert model.generate(context, cond, 3, pyramid, 1.0, g).forward_passes == 2 + 1


def test_full_sequence_and_non_autoregressive_schedules_refuse_to_stream(make_model):
    with pytest.raises(ValueError, match="cannot stream .full attention"):
        StreamingSession(build(make_model, "full_sequence_flow"), 2, DecodeOptions())
    pyramid = DecodeOptions(SamplingSettings(schedule="pyramid"))
    with pytest.raises(ValueError, match="schedule='pyramid' denoises several frames"):
        StreamingSession(build(make_model, "diffusion_forcing"), 2, pyramid)


@pytest.mark.parametrize("order", CAUSAL)
@pytest.mark.parametrize("solver", ["euler", "heun"])
@pytest.mark.parametrize("prediction", ["velocity", "x0"])
def test_streaming_equals_whole_clip_sampling_for_the_same_noise(
    make_model, make_batch, order, solver, prediction
):
    """A KV-cached stream (context prefilled, then one frame at a time) samples what the
    uncached whole-clip schedule sampler samples from the same seed: stabilized history,
    guidance and actions included, for both read-outs of the head."""
    model = build(make_model, order, num_labels=2, order_options=dict(prediction=prediction))
    batch = make_batch(model, frames=4)
    context, actions = batch.latents[:, :2], batch.actions
    settings = SamplingSettings(steps=3, solver=solver, stabilization=0.1, temperature=0.9)

    def options() -> DecodeOptions:
        return DecodeOptions(settings, 2.0, generator=torch.Generator().manual_seed(3))

    whole_session = DecodingSession(model, Conditions(actions_BT=actions), 4, 2, options())
    flat = model.order.flatten(context)
    whole = model.order.generate_clip(
        whole_session, whole_session.layout, flat, whole_session.generator
    )
    stream = TokenStream(StreamingSession(model, 2, options()), total_frames=4)
    stream.prefill(context, actions)
    L = model.order.tokens_per_frame
    frames = []
    for t in (2, 3):
        frames.append(stream.step(actions[:, t - 1]))
        assert stream.cache_length == (t + 1) * L  # the steps left no tokens behind
    streamed = torch.stack([f.values for f in frames], dim=1)
    expected = model.order.unflatten(whole.values, 4)[:, 2:]
    torch.testing.assert_close(streamed, expected, atol=1e-5, rtol=1e-4)
    per_step = 1 if solver == "euler" else 2
    assert [f.forward_passes for f in frames] == [3 * per_step + 1] * 2  # steps + commit
    assert whole.forward_passes == 2 * 3 * per_step  # rows of the whole clip


@pytest.mark.parametrize("order", CAUSAL)
def test_generate_takes_the_cached_path_for_the_autoregressive_schedule(make_model, order):
    """VideoLM.generate of a block-causal order streams internally (same values as the whole
    clip), and its per-frame cost is steps + 1 forwards over one frame."""
    model = build(make_model, order, num_actions=0)
    settings = SamplingSettings(steps=2)

    def run(use_cache: bool = True):
        return model.generate(
            None, None, 3, settings, generator=torch.Generator().manual_seed(4),
            batch_size=2, use_cache=use_cache,
        )  # fmt: skip

    cached = run()
    assert cached.forward_passes == 3 * (2 + 1)
    torch.testing.assert_close(run(use_cache=False).values, cached.values, atol=1e-5, rtol=1e-4)
    whole = session(model, 3, settings)
    whole.generator.manual_seed(4)
    clip = model.order.generate_clip(whole, whole.layout, None, whole.generator)
    torch.testing.assert_close(
        model.order.unflatten(clip.values, 3), cached.values, atol=1e-5, rtol=1e-4
    )


def test_a_denoising_order_refuses_other_heads(make_model):
    with pytest.raises(ValueError, match="cannot predict"):
        make_model(order="diffusion_forcing", head="diffusion", latent_dim=3)
    with pytest.raises(ValueError, match="cannot predict"):
        make_model(order="next_block", head="velocity", latent_dim=3)


# -- complete teacher forcing (next_frame_flow) --------------------------------------------


def complete_forcing(model, latents, actions, seed: int = 3):
    x0 = model.order.flatten(latents)
    forcing = model.order.teacher_forcing(x0, model.embed, torch.Generator().manual_seed(seed))
    T = latents.shape[1]
    cond = model.conditioner(Conditions(actions), T, batch_size=latents.shape[0])
    return forcing, cond, model._complete_forcing(forcing, model.order.layout(T), cond)


def test_complete_forcing_sees_what_sampling_sees(make_model, make_batch):
    """Each noisy frame f's output equals one forward over [clean frames < f, noisy frame
    f]: the KV cache of finished frames plus the frame being denoised."""
    model = build(make_model, "next_frame_flow", order_options=dict(teacher_forcing="complete"))
    batch = make_batch(model)
    forcing, cond, z = complete_forcing(model, batch.latents, batch.actions)
    L, T = model.order.tokens_per_frame, batch.latents.shape[1]
    assert forcing.weight_BN is None  # every frame trains
    for f in range(T):
        noisy = slice(f * L, (f + 1) * L)
        inputs = torch.cat([forcing.clean_BND[:, : f * L], forcing.inputs_BND[:, noisy]], 1)
        levels = torch.cat([forcing.clean_cond_BND[:, : f * L], forcing.cond_BND[:, noisy]], 1)
        seq = model.sequence_inputs(inputs, model.order.layout(f + 1), cond, levels)
        alone = model.forward_sequence(seq, model.config.window_frames)[:, f * L :]
        torch.testing.assert_close(z[:, noisy], alone, atol=1e-5, rtol=1e-4)


def test_complete_forcing_trains_every_frame_at_its_own_level(make_model, make_batch):
    model = build(make_model, "next_frame_flow", order_options=dict(teacher_forcing="complete"))
    x0 = model.order.flatten(make_batch(model, batch=4).latents)
    g = torch.Generator().manual_seed(0)
    forcing = model.order.teacher_forcing(x0, model.embed, g)
    assert forcing.clean_BND.shape == forcing.inputs_BND.shape
    torch.testing.assert_close(forcing.clean_BND, model.embed(x0))  # no history noise
    L = model.order.tokens_per_frame
    # the noisy copies differ from the clean ones in every frame (each at a level > 0)
    differs = (forcing.inputs_BND - forcing.clean_BND).abs().sum(-1)
    assert (differs.view(4, -1, L).sum(-1) > 0).all()
    # history noise: the clean copy at a small level of its own, not at 0
    model = build(
        make_model, "next_frame_flow", history_corruption=0.1,
        order_options=dict(teacher_forcing="complete"),
    )  # fmt: skip
    with torch.no_grad():
        forcing = model.order.teacher_forcing(x0, model.embed, g)
        clean = model.embed(x0)
    assert not torch.allclose(forcing.clean_BND, clean)
    drift = (forcing.clean_BND - clean).abs().max()
    assert float(drift) < float((forcing.inputs_BND - clean).abs().max())


def test_complete_forcing_is_next_frame_flows_alone(make_model):
    for order in ("full_sequence_flow", "diffusion_forcing"):
        with pytest.raises(ValueError, match="teacher_forcing='complete'"):
            build(make_model, order, order_options=dict(teacher_forcing="complete"))
    with pytest.raises(ValueError, match="teacher_forcing must be one of"):
        build(make_model, "next_frame_flow", order_options=dict(teacher_forcing="all"))
    with pytest.raises(ValueError, match="clean_context must be true or false"):
        build(make_model, "full_sequence_flow", order_options=dict(clean_context="false"))


def test_x_prediction_regresses_x0_with_the_implied_velocity_loss(make_model, make_batch):
    """prediction='x0': the head's target is x0, weighted 1/t² (|v - v̂|² of the velocity
    (x_t - x̂0)/t); the solver gets that velocity, which is ε - x0 when x̂0 is exact."""
    model = build(make_model, "diffusion_forcing", order_options=dict(prediction="x0"))
    order = model.order
    x0 = order.flatten(make_batch(model).latents)
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        forcing = order.teacher_forcing(x0, model.embed, g)
    torch.testing.assert_close(forcing.target, x0)
    t_BN = torch.rand(x0.shape[:2], generator=g) * 0.9 + 0.1
    noise = torch.randn(x0.shape, generator=g)
    x_t = (1 - t_BN[..., None]) * x0 + t_BN[..., None] * noise
    torch.testing.assert_close(order.as_velocity(x0, x_t, t_BN), noise - x0)
    _, weight = order.regression(x0, noise, t_BN, None)
    torch.testing.assert_close(weight, t_BN.square().reciprocal())
    assert forcing.weight_BN.min() >= 1.0  # 1/t² with t <= 1
    with pytest.raises(ValueError, match="prediction must be one of"):
        build(make_model, "next_frame_flow", order_options=dict(prediction="eps"))
