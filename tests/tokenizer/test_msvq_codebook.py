"""msvq codebook health: k-means init on the first training batch, dead-code restarts."""

import torch

from arvideo.tokenizer import BottleneckConfig, VideoTokenizer
from arvideo.tokenizer.msvq import MultiScaleResidualVQ

VOCAB, DIM, SCALES = 64, 8, (1, 2, 4)


def make_msvq(seed: int = 0, **overrides) -> MultiScaleResidualVQ:
    values = dict(kind="msvq", codebook_size=VOCAB, scales=SCALES, ema_decay=0.5)
    values.update(overrides)
    torch.manual_seed(seed)  # construction only
    return MultiScaleResidualVQ(BottleneckConfig(**values), DIM)


def features(seed: int, batch: int = 4, frames: int = 2) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, DIM, frames, SCALES[-1], SCALES[-1], generator=generator)


def collapse(msvq: MultiScaleResidualVQ) -> None:
    """Every code but code 0 far from any feature: all positions pick code 0."""
    with torch.no_grad():
        msvq.codebook.weight.fill_(100.0)
        msvq.codebook.weight[0].zero_()


def distinct_codes(msvq: MultiScaleResidualVQ, z_BCTHW: torch.Tensor) -> int:
    was_training = msvq.training
    with torch.no_grad():
        codes = msvq.eval()(z_BCTHW).codes
    msvq.train(was_training)
    return len(torch.unique(codes))


def train_steps(msvq: MultiScaleResidualVQ, steps: int, first_seed: int = 1) -> float:
    """Training forwards with backward and an optimiser step, as in tokenizer training.

    Returns how many codes restarted in all.
    """
    optimizer = torch.optim.AdamW(msvq.parameters(), lr=1e-3)
    msvq.train()
    restarted = 0.0
    for step in range(steps):
        out = msvq(features(first_seed + step))
        optimizer.zero_grad()
        out.loss.backward()  # restarts edit the codebook in place after it was used
        optimizer.step()
        restarted += float(out.metrics["restarted_codes"])
    return restarted


def test_collapsed_codebook_revives_in_training():
    held_out = features(seed=0)
    revived, kept = make_msvq(kmeans_init=False), make_msvq(kmeans_init=False)
    kept.dead_code_threshold = 0.0  # the same model with restarts off
    restarted = {}
    for name, msvq in (("revived", revived), ("kept", kept)):
        msvq.train()(features(seed=99))  # first forward: usage starts at a fair share
        collapse(msvq)
        assert distinct_codes(msvq, held_out) == 1
        restarted[name] = train_steps(msvq, steps=3)
    assert distinct_codes(kept, held_out) <= 2 and restarted["kept"] == 0
    assert distinct_codes(revived, held_out) >= VOCAB // 2
    assert VOCAB - 1 <= restarted["revived"] < 3 * VOCAB
    assert (revived.usage_ema > 0).all()


def test_eval_mode_changes_nothing():
    for msvq in (make_msvq(), make_msvq(kmeans_init=False)):
        collapse(msvq)
        before = {k: v.clone() for k, v in msvq.state_dict().items()}
        with torch.no_grad():
            for seed in range(3):
                msvq.eval()(features(seed))
            assert "restarted_codes" not in msvq(features(0)).metrics
        after = msvq.state_dict()
        assert not after["initialised"]
        for key, value in before.items():
            assert torch.equal(value, after[key]), key


def latent_error(msvq: MultiScaleResidualVQ, z_BCTHW: torch.Tensor) -> float:
    with torch.no_grad():
        return float((msvq(z_BCTHW).latents - z_BCTHW).pow(2).mean())


def test_kmeans_init_runs_once_and_fits_the_residuals():
    msvq = make_msvq(dead_code_threshold=0.0)  # restarts off: only the init edits the codebook
    z = features(seed=0)
    error_uniform = latent_error(msvq.eval(), z)
    error_kmeans = latent_error(msvq.train(), z)  # the first training forward initialises
    weight = msvq.codebook.weight.clone()
    latent_error(msvq, features(seed=1))
    assert msvq.initialised
    assert torch.equal(weight, msvq.codebook.weight)  # the second forward did not re-init
    assert error_kmeans < 0.5 * error_uniform  # a fitted codebook beats the uniform(±1/V) one
    sampled = make_msvq(dead_code_threshold=0.0, msvq_kmeans_iters=0).train()
    assert error_kmeans < latent_error(sampled, z)  # k-means rounds beat a random sample
    # usage starts at a fair share per code; the EMA of same-sized batches keeps the total
    assignments = z.shape[0] * z.shape[2] * sum(s * s for s in SCALES)
    assert torch.allclose(msvq.usage_ema.sum(), torch.tensor(float(assignments)))


def test_init_and_usage_survive_save_and_load(tmp_path, make_config, make_video):
    config = make_config("msvq")
    config.bottleneck.kmeans_init = True
    torch.manual_seed(0)
    model = VideoTokenizer(config).train()
    with torch.no_grad():
        model(make_video(2, 2, 16, 16))
    state = model.state_dict()
    assert state["bottleneck.initialised"] and state["bottleneck.usage_ema"].sum() > 0
    model.save_pretrained(tmp_path)
    loaded = VideoTokenizer.from_pretrained(tmp_path)  # strict: the buffers were saved
    for key in ("bottleneck.initialised", "bottleneck.usage_ema", "bottleneck.codebook.weight"):
        assert torch.equal(loaded.state_dict()[key], state[key]), key
    loaded.bottleneck.dead_code_threshold = 0.0
    with torch.no_grad():
        loaded.train()(make_video(2, 2, 16, 16, seed=1))
    assert torch.equal(loaded.bottleneck.codebook.weight, state["bottleneck.codebook.weight"])


def test_checkpoint_without_the_buffers_loads_as_trained():
    old = {k: v for k, v in make_msvq().state_dict().items() if k == "codebook.weight"}
    old.update({k: v for k, v in make_msvq().state_dict().items() if k.startswith("refiners")})
    msvq = make_msvq(seed=1)
    msvq.load_state_dict(old, strict=True)
    assert msvq.initialised and torch.equal(msvq.codebook.weight, old["codebook.weight"])


def run(msvq: MultiScaleResidualVQ, generator_seed: int | None = None) -> torch.Tensor:
    generator = None if generator_seed is None else torch.Generator().manual_seed(generator_seed)
    with torch.no_grad():
        for seed in range(4):
            msvq.train()(features(seed), generator)
            msvq.codebook.weight[: VOCAB // 2].add_(50.0)  # kill half: restarts every step
    return msvq.codebook.weight.detach().clone()


def test_seeded_runs_are_reproducible_and_leave_the_global_rng_alone():
    models = [make_msvq() for _ in range(5)] + [make_msvq(msvq_seed=1)]
    global_state = torch.random.get_rng_state()
    own = run(models[0])
    assert torch.equal(torch.random.get_rng_state(), global_state)
    assert torch.equal(own, run(models[1]))
    assert not torch.equal(own, run(models[5]))  # another msvq_seed
    assert torch.equal(run(models[2], generator_seed=5), run(models[3], generator_seed=5))
    assert not torch.equal(own, run(models[4], generator_seed=5))
