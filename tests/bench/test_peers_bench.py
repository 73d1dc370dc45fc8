"""`arvideo bench peers` at its quick sizes, the Llama it builds, and the IRIS-style baseline's
KV-cached decoding checked against full forwards."""

from __future__ import annotations

import json
import math

import pytest
import torch

from arvideo.bench.peers import FULL, QUICK, bench_peers, video_lm
from arvideo.bench.peers_iris import IrisConfig, IrisWorldModel, iris_rollout
from arvideo.bench.peers_llama import generate, kv_loop, llama_like, swiglu_hidden
from arvideo.lm.transformer import Transformer

DECODERS = [
    "arvideo next_token", "arvideo next_token, compiled", "transformers generate",
    "transformers KV loop",
]  # fmt: skip
WORLD_MODELS = [
    "IRIS-style loop", "arvideo next_token", "arvideo next_token, compiled",
    "arvideo next_block", "arvideo next_block, compiled",
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def one_thread(single_torch_thread):
    pass


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The compiled contenders run their slot-cache step eagerly here (compiling is
    tested in tests/lm/test_slot_cache.py; it would take minutes at every quick size)."""
    out = tmp_path_factory.mktemp("bench_peers")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Transformer, "_compiled_slot_body", lambda self: self._slot_body)
        bench_peers(out=str(out), quick=True)
    return out


def test_quick_run_writes_every_contender_with_positive_speeds(quick):
    data = json.loads((quick / "peers.json").read_text())
    assert data["quick"] is True and data["threads"] == 1 and data["rounds"] == 2
    settings = [(s["width"], s["depth"]) for s in data["config"]["decoding"]]
    for width, depth in settings:
        for batch in QUICK.decoding_batches:
            rows = [
                r for r in data["decoding"]
                if r["size"].startswith(f"{width}×{depth},") and r["batch"] == batch
            ]  # fmt: skip
            assert [r["contender"] for r in rows] == DECODERS
            eager, compiled, generate_row, loop = rows
            assert generate_row["vs_generate"] == 1.0
            # ours feeds the prompt's last token in its first step: one forward more
            for ours in (eager, compiled):
                assert ours["forwards"] == ours["new"] + 1 and ours["vs_generate"] > 0
            assert compiled["mflop_per_token"] == eager["mflop_per_token"]
            assert loop["forwards"] == loop["new"] and loop["vs_generate"] > 0
    for row in data["decoding"] + data["world_models"]:  # a compile time for compiled rows
        assert (row["first_run_s"] is not None) == row["contender"].endswith(", compiled")
        assert row["first_run_s"] is None or row["first_run_s"] > 0
    for row in data["decoding"]:
        assert math.isfinite(row["tokens_per_s"]) and row["tokens_per_s"] > 0
        assert row["mflop_per_token"] > 0 and row["parameters"] > row["layer_parameters"] > 0
    world = QUICK.world
    for batch in QUICK.world_batches:
        rows = [r for r in data["world_models"] if r["batch"] == batch]
        assert [r["contender"] for r in rows] == WORLD_MODELS
        iris, token, token_compiled, block, block_compiled = rows
        assert iris["vs_baseline"] == 1.0
        assert token_compiled["forwards_per_frame"] == token["forwards_per_frame"]
        assert block_compiled["forwards_per_frame"] == block["forwards_per_frame"]
        calls = {"iris": 1 + world.new_frames * (world.tokens_per_frame + 1)}
        assert iris["forwards_per_frame"] * world.new_frames == calls["iris"]
        assert (
            token["forwards_per_frame"] * world.new_frames
            == 1 + world.new_frames * world.tokens_per_frame
        )
        assert block["forwards_per_frame"] * world.new_frames == 1 + world.new_frames
    for row in data["world_models"]:
        assert row["frames_per_s"] > 0 and row["vs_baseline"] > 0 and row["mflop_per_frame"] > 0
    markdown = (quick / "peers.md").read_text()
    assert "## Next-token decoding" in markdown and "## World models" in markdown
    for name in DECODERS + WORLD_MODELS:
        assert f"| {name} |" in markdown


@pytest.mark.parametrize("size", FULL.decoding, ids=lambda s: s.label())
def test_llama_has_our_width_depth_heads_mlp_and_vocabulary(size):
    lm = video_lm(size, "next_token", FULL, num_actions=0)
    llama = llama_like(lm, size.frames * size.tokens_per_frame)
    config = llama.config
    assert config.hidden_size == lm.config.width == size.width
    assert config.num_hidden_layers == lm.config.depth == len(lm.backbone.blocks) == size.depth
    assert config.num_attention_heads == config.num_key_value_heads == lm.config.heads
    assert config.intermediate_size == swiglu_hidden(lm) == int(size.width * 4 * 2 / 3)
    assert config.vocab_size == lm.config.vocab_size == lm.head.vocab_size == 512
    assert config.hidden_act == "silu" and len(llama.model.layers) == size.depth
    gate = llama.model.layers[0].mlp.gate_proj.weight
    assert tuple(gate.shape) == (swiglu_hidden(lm), size.width)


def test_llama_generate_leaves_the_global_generator_alone():
    size = QUICK.decoding[0]
    lm = video_lm(size, "next_token", QUICK, num_actions=0)
    llama = llama_like(lm, size.frames * size.tokens_per_frame)
    prompt = torch.randint(QUICK.vocab_size, (2, 4), generator=torch.Generator().manual_seed(0))
    state = torch.get_rng_state()
    tokens = [generate(llama, prompt, 5, torch.Generator().manual_seed(s)) for s in (3, 3)]
    assert torch.equal(torch.get_rng_state(), state)
    assert tokens[0].shape == (2, 9) and torch.equal(tokens[0], tokens[1])


def _iris(config: IrisConfig) -> IrisWorldModel:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return IrisWorldModel(config).eval()


def _uncached_rollout(model: IrisWorldModel, context_BK, actions_BT, pick) -> torch.Tensor:
    """The same sequence (frame, then action + frame per step) recomputed from position 0 at
    every token, no cache."""
    vocab, K = model.config.vocab_size, context_BK.shape[1]
    sequence, frames = context_BK, [context_BK]
    for action_B in actions_BT.unbind(1):
        sequence = torch.cat([sequence, (action_B + vocab)[:, None]], 1)
        for _ in range(K):
            with torch.no_grad():
                token_B1 = pick(model(sequence)[:, -1])
            sequence = torch.cat([sequence, token_B1], 1)
        frames.append(sequence[:, -K:])
    return torch.stack(frames, 1)


def test_iris_cached_rollout_equals_uncached_decoding():
    config = IrisConfig(width=32, depth=2, heads=2, vocab_size=64, num_actions=3,
                        tokens_per_frame=4, max_frames=4)  # fmt: skip
    model = _iris(config)
    data = torch.Generator().manual_seed(1)
    context_BK = torch.randint(config.vocab_size, (2, 4), generator=data)
    actions_BT = torch.randint(config.num_actions, (2, 3), generator=data)
    cached = iris_rollout(model, context_BK, actions_BT, greedy=True)
    greedy = _uncached_rollout(model, context_BK, actions_BT, lambda x: x.argmax(-1, keepdim=True))
    assert cached.shape == (2, 4, 4) and torch.equal(cached[:, 0], context_BK)
    assert torch.equal(cached, greedy)
    assert len(set(cached[:, 1:].flatten().tolist())) > 1  # not one token repeated
    # sampled: the same draws from the same generator, so the same codes
    seed = lambda: torch.Generator().manual_seed(7)
    sampled = iris_rollout(model, context_BK, actions_BT, seed())
    generator = seed()
    draw = lambda x: torch.multinomial(x.float().softmax(-1), 1, generator=generator)
    assert torch.equal(sampled, _uncached_rollout(model, context_BK, actions_BT, draw))


def test_iris_cache_refuses_more_tokens_than_its_positions():
    config = IrisConfig(width=16, depth=1, heads=2, vocab_size=8, tokens_per_frame=2, max_frames=2)
    model = _iris(config)
    with pytest.raises(ValueError, match="max_tokens"):
        iris_rollout(
            model, torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 2, dtype=torch.long)
        )


@pytest.mark.parametrize("name", ["rounds", "threads"])
def test_bad_arguments_name_themselves(tmp_path, name):
    with pytest.raises(ValueError, match=name):
        bench_peers(out=str(tmp_path / "out"), quick=True, **{name: 0})
    assert not (tmp_path / "out").exists()


def test_llama_kv_loop_draws_what_full_forwards_would():
    """The hand-written loop really reuses its cache: the same draws as recomputing the
    whole sequence at every token (an ignored cache would make it wrong and too fast)."""
    size = QUICK.decoding[0]
    lm = video_lm(size, "next_token", QUICK, num_actions=0)
    llama = llama_like(lm, 16)
    prompt = torch.randint(QUICK.vocab_size, (2, 4), generator=torch.Generator().manual_seed(0))
    cached = kv_loop(llama, prompt, 6, torch.Generator().manual_seed(5))
    generator, sequence = torch.Generator().manual_seed(5), prompt
    for _ in range(6):
        with torch.no_grad():
            probs = llama(sequence).logits[:, -1].float().softmax(-1)
        sequence = torch.cat([sequence, torch.multinomial(probs, 1, generator=generator)], 1)
    assert torch.equal(cached, sequence)
