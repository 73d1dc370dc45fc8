"""The per-token diffusion head: flow-matching loss, Euler/Heun sampler, guidance, fitting."""

from __future__ import annotations

import pytest
import torch

from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.heads.diffusion import DiffusionHead
from arvideo.lm.heads.flow import integrate_flow, solver_evaluations

SIGMA = 0.5  # std of the analytic Gaussian target


def gaussian_velocity(x_PC, t_P, mu_PC, sigma: float = SIGMA):
    """Exact rectified-flow velocity E[ε - x0 | x_t] for x0 ~ N(mu, sigma²), ε ~ N(0, 1)."""
    t = t_P[:, None]
    var_t = (1 - t) ** 2 * sigma**2 + t**2
    return -mu_PC + (t - (1 - t) * sigma**2) / var_t * (x_PC - (1 - t) * mu_PC)


def gaussian_oracle(x_PC, t_P, z_PD):
    """Denoiser stand-in: the first C entries of z are the target mean."""
    return gaussian_velocity(x_PC, t_P, z_PD[:, : x_PC.shape[1]])


def oracle_head(monkeypatch, width=4, latent_dim=2) -> DiffusionHead:
    head = DiffusionHead(width=width, latent_dim=latent_dim, hidden=16, blocks=1)
    monkeypatch.setattr(head, "velocity", gaussian_oracle)
    return head


def test_loss_vanishes_with_oracle_velocity(monkeypatch):
    g = torch.Generator().manual_seed(0)
    head = DiffusionHead(width=3, latent_dim=3, hidden=16, blocks=1, noise_draws=4)
    x0_BNC = torch.randn(2, 5, 3, generator=g)
    untrained = head.loss(x0_BNC, x0_BNC, generator=g).loss  # zero-init output: ≈ E|ε - x0|²
    # z carries x0 itself, so the oracle knows the true velocity (x_t - x0) / t = ε - x0
    monkeypatch.setattr(head, "velocity", lambda x_PC, t_P, z_PD: (x_PC - z_PD) / t_P[:, None])
    result = head.loss(x0_BNC, x0_BNC, generator=g)
    assert untrained > 0.5
    assert result.loss < 1e-8
    assert set(result.metrics) == {"flow_mse"}


@pytest.mark.parametrize("time_sampling", ["uniform", "logit_normal"])
def test_loss_is_finite_and_differentiable(time_sampling):
    g = torch.Generator().manual_seed(0)
    head = DiffusionHead(width=16, latent_dim=4, hidden=32, time_sampling=time_sampling)
    z_BND = torch.randn(2, 3, 16, generator=g, requires_grad=True)
    loss = head.loss(z_BND, torch.randn(2, 3, 4, generator=g), generator=g).loss
    loss.backward()
    assert torch.isfinite(loss) and loss.ndim == 0
    assert head.final.out.weight.grad.abs().sum() > 0


def test_weighted_loss_ignores_zero_weight_tokens():
    head = DiffusionHead(width=8, latent_dim=2, hidden=16)
    z_BND = torch.randn(2, 3, 8)
    target = torch.randn(2, 3, 2)
    weight_BN = torch.ones(2, 3)
    weight_BN[1, 2] = 0
    changed = target.clone()
    changed[1, 2] = 100.0

    def loss(values, weight):
        return head.loss(z_BND, values, weight, torch.Generator().manual_seed(3)).loss

    assert torch.equal(loss(target, torch.ones(2, 3)), loss(target, None))
    assert torch.allclose(loss(target, weight_BN), loss(changed, weight_BN))
    assert not torch.allclose(loss(target, None), loss(changed, None))


def test_exact_gaussian_map_and_moments(monkeypatch):
    """The exact flow maps noise ε to mu + sigma·ε; many steps reproduce it per sample."""
    head = oracle_head(monkeypatch)
    mu = torch.tensor([1.5, -0.5])
    z_BND = torch.cat([mu, torch.zeros(2)]).expand(1, 8000, 4)
    for solver, steps, tol in [("euler", 100, 6e-2), ("heun", 20, 5e-3)]:
        settings = SamplingSettings(steps=steps, solver=solver)
        x_BNC = head.sample(z_BND, torch.Generator().manual_seed(1), settings)
        noise = torch.randn(8000, 2, generator=torch.Generator().manual_seed(1))
        assert (x_BNC[0] - (mu + SIGMA * noise)).abs().max() < tol, solver
        assert torch.allclose(x_BNC[0].mean(0), mu, atol=0.02)
        assert torch.allclose(x_BNC[0].var(0), torch.full((2,), SIGMA**2), rtol=0.06)


def test_heun_beats_euler_at_few_steps(monkeypatch):
    head = oracle_head(monkeypatch)
    z_BND = torch.tensor([2.0, -1.0, 0.0, 0.0]).expand(1, 4096, 4)
    noise = torch.randn(4096, 2, generator=torch.Generator().manual_seed(5))
    exact = torch.tensor([2.0, -1.0]) + SIGMA * noise
    errors = {}
    for solver in ("euler", "heun"):
        settings = SamplingSettings(steps=4, solver=solver)
        x_BNC = head.sample(z_BND, torch.Generator().manual_seed(5), settings)
        errors[solver] = (x_BNC[0] - exact).abs().mean().item()
    assert errors["heun"] < 0.25 * errors["euler"], errors


def test_temperature_scales_the_spread(monkeypatch):
    head = oracle_head(monkeypatch)
    z_BND = torch.zeros(1, 20_000, 4)
    settings = SamplingSettings(steps=10, solver="heun", temperature=0.5)
    x_BNC = head.sample(z_BND, torch.Generator().manual_seed(2), settings)
    assert torch.allclose(x_BNC[0].std(0), torch.full((2,), 0.5 * SIGMA), rtol=0.05)


def test_guidance_mixes_velocities(monkeypatch):
    """The Gaussian velocity is affine in mu, so guidance moves the mean to mu_u + s·Δmu."""
    head = oracle_head(monkeypatch)
    n = 8000
    z_cond = torch.tensor([1.0, 1.0, 0.0, 0.0]).expand(2, n, 4)
    z_uncond = torch.zeros(2, n, 4)
    scale_BN = torch.tensor([[3.0], [0.0]])  # a per-row tensor schedule
    settings = SamplingSettings(steps=10, solver="heun")
    g = torch.Generator().manual_seed(0)
    x_BNC = head.sample(z_cond, g, settings, z_uncond_BND=z_uncond, cfg_scale=scale_BN)
    assert torch.allclose(x_BNC[0].mean(0), torch.full((2,), 3.0), atol=0.03)
    assert torch.allclose(x_BNC[1].mean(0), torch.zeros(2), atol=0.03)
    assert head.last_sample_evaluations == 20


def test_guidance_scale_one_is_exactly_conditional():
    head = DiffusionHead(width=16, latent_dim=4, hidden=32, blocks=2)
    for p in head.parameters():  # leave the zero init: make the output depend on z
        torch.nn.init.normal_(p, std=0.2)
    calls = []
    velocity = head.velocity
    head.velocity = lambda x, t, z: calls.append(x.shape[0]) or velocity(x, t, z)
    z_BND, z_uncond = torch.randn(2, 3, 16), torch.randn(2, 3, 16)
    settings = SamplingSettings(steps=6, solver="euler")
    plain = head.sample(z_BND, torch.Generator().manual_seed(7), settings)
    for scale in (1.0, torch.ones(2, 3)):
        calls.clear()
        guided = head.sample(z_BND, torch.Generator().manual_seed(7), settings, z_uncond, scale)
        assert torch.equal(plain, guided)
        assert calls == [6] * 6  # conditional rows only, one call per step
    calls.clear()
    mixed = head.sample(z_BND, torch.Generator().manual_seed(7), settings, z_uncond, 2.0)
    assert calls == [12] * 6 and not torch.allclose(mixed, plain)
    calls.clear()  # no unconditional output: the scale has nothing to mix
    unguided = head.sample(z_BND, torch.Generator().manual_seed(7), settings, None, 2.0)
    assert torch.equal(unguided, plain) and calls == [6] * 6


def test_seeded_sampling_is_reproducible():
    head = DiffusionHead(width=16, latent_dim=4, hidden=32)
    z_BND = torch.randn(2, 5, 16)
    settings = SamplingSettings(steps=5, solver="heun")

    def draw(seed):
        return head.sample(z_BND, torch.Generator().manual_seed(seed), settings)

    assert torch.equal(draw(0), draw(0))
    assert not torch.allclose(draw(0), draw(1))
    assert draw(0).shape == (2, 5, 4)


def test_evaluation_counts():
    head = DiffusionHead(width=8, latent_dim=2, hidden=16, blocks=1)
    for solver, expected in (("euler", 7), ("heun", 14)):
        settings = SamplingSettings(steps=7, solver=solver)
        head.sample(torch.randn(1, 2, 8), None, settings)
        assert head.last_sample_evaluations == head.evaluations(settings) == expected
    assert solver_evaluations(3, "heun") == 6
    solution = integrate_flow(lambda x, t: torch.zeros_like(x), torch.ones(3, 2), 4, "euler")
    assert solution.evaluations == 4 and torch.equal(solution.x0, torch.ones(3, 2))


def test_clear_errors():
    head = DiffusionHead(width=8, latent_dim=2, hidden=16, blocks=1)
    z_BND = torch.randn(1, 2, 8)
    with pytest.raises(ValueError, match="solver"):
        head.sample(z_BND, None, SamplingSettings(solver="rk4"))
    with pytest.raises(ValueError, match="cfg_scale"):
        head.sample(z_BND, None, SamplingSettings(), z_BND, torch.ones(3, 3))
    with pytest.raises(ValueError, match="target"):
        head.loss(z_BND, torch.randn(1, 2, 3))
    with pytest.raises(ValueError, match="weight_BN"):
        head.loss(z_BND, torch.randn(1, 2, 2), torch.ones(2))
    with pytest.raises(ValueError, match="time_sampling"):
        DiffusionHead(width=8, latent_dim=2, time_sampling="cosine")


def two_mode_data(n: int, g: torch.Generator):
    """Two classes; each class's latent is bimodal: ±(1, 1) for class 0, ±(1, -1) for class 1."""
    cls_N = torch.randint(0, 2, (n,), generator=g)
    sign_N = torch.randint(0, 2, (n,), generator=g) * 2 - 1
    centres = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    x0_NC = sign_N[:, None] * centres[cls_N] + 0.05 * torch.randn(n, 2, generator=g)
    return cls_N, x0_NC


def test_tiny_head_fits_two_mode_conditional_data():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    class_z = torch.randn(2, 16, generator=g)  # a fixed "transformer output" per class
    head = DiffusionHead(width=16, latent_dim=2, hidden=32, blocks=2, time_sampling="uniform")
    cls_held, x0_held = two_mode_data(512, g)

    def held_out_loss():
        with torch.no_grad():
            eval_g = torch.Generator().manual_seed(123)
            return head.loss(class_z[cls_held][None], x0_held[None], generator=eval_g).loss.item()

    before = held_out_loss()
    optimizer = torch.optim.AdamW(head.parameters(), lr=3e-3)
    for _ in range(200):
        cls_N, x0_NC = two_mode_data(128, g)
        loss = head.loss(class_z[cls_N][None], x0_NC[None], generator=g).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = held_out_loss()
    assert after < 0.6 * before, (before, after)
    # samples of class 1 land near its modes ±(1, -1), not near class 0's ±(1, 1)
    z_BND = class_z[1].expand(1, 256, 16)
    settings = SamplingSettings(steps=20, solver="heun")
    x_NC = head.sample(z_BND, torch.Generator().manual_seed(0), settings)[0]
    near_class1 = torch.minimum(
        (x_NC - torch.tensor([1.0, -1.0])).norm(dim=-1),
        (x_NC + torch.tensor([1.0, -1.0])).norm(dim=-1),
    )
    assert (near_class1 < 0.5).float().mean() > 0.7
