"""The conditioner: action shift, CFG dropout, null embeddings, input checks, text prefix."""

from __future__ import annotations

import pytest
import torch

from arvideo.lm.conditioning import (
    ConditionEmbedding,
    Conditioner,
    ConditionerConfig,
    Conditions,
)

NUM_ACTIONS, NUM_LABELS, WIDTH = 5, 3, 16


def make_conditioner(dropout: float = 0.0, **overrides) -> Conditioner:
    torch.manual_seed(0)
    config = ConditionerConfig(
        width=WIDTH, num_actions=NUM_ACTIONS, num_labels=NUM_LABELS, dropout=dropout, **overrides
    )
    return Conditioner(config)


def random_conditions(batch: int, frames: int, seed: int = 0) -> Conditions:
    generator = torch.Generator().manual_seed(seed)
    return Conditions(
        actions_BT=torch.randint(0, NUM_ACTIONS, (batch, frames), generator=generator),
        labels_B=torch.randint(0, NUM_LABELS, (batch,), generator=generator),
    )


def test_action_at_t_only_affects_later_frames():
    conditioner = make_conditioner().eval()
    conditions = random_conditions(2, 6)
    before = conditioner(conditions, num_frames=6).frame_BTD
    assert before.shape == (2, 6, WIDTH)
    changed = conditions.actions_BT.clone()
    changed[:, 2] = (changed[:, 2] + 1) % NUM_ACTIONS
    after = conditioner(Conditions(changed, conditions.labels_B), num_frames=6).frame_BTD
    assert torch.equal(after[:, :3], before[:, :3])  # frames <= t never see a_t
    assert not torch.allclose(after[:, 3], before[:, 3])  # frame t+1 does
    assert torch.equal(after[:, 4:], before[:, 4:])


def test_frame_zero_uses_the_null_action_and_last_action_is_unused():
    conditioner = make_conditioner().eval()
    conditions = random_conditions(3, 4)
    embedded = conditioner(conditions, num_frames=4).frame_BTD
    no_actions = conditioner(Conditions(labels_B=conditions.labels_B), num_frames=4).frame_BTD
    assert torch.equal(embedded[:, 0], no_actions[:, 0])
    shorter = Conditions(conditions.actions_BT[:, :3], conditions.labels_B)
    assert torch.equal(conditioner(shorter, num_frames=4).frame_BTD, embedded)


def test_drop_all_equals_every_condition_null():
    conditioner = make_conditioner(dropout=0.5)  # training mode: drop_all must still be exact
    conditions = random_conditions(4, 5)
    dropped = conditioner(conditions, 5, drop_all=True, generator=torch.Generator())
    conditioner.eval()
    null = conditioner(Conditions(), 5, batch_size=4)
    assert torch.equal(dropped.frame_BTD, null.frame_BTD)
    conditioned = conditioner(conditions, 5).frame_BTD
    assert not torch.allclose(conditioned[:, 1:], null.frame_BTD[:, 1:])


def test_dropout_rate_and_determinism():
    dropout, batch = 0.3, 4000
    conditioner = make_conditioner(dropout=dropout).train()
    conditions = random_conditions(batch, 3, seed=1)
    draw = lambda seed: (
        conditioner(  # noqa: E731
            conditions, 3, generator=torch.Generator().manual_seed(seed)
        ).frame_BTD
    )
    first = draw(11)
    assert torch.equal(first, draw(11))
    assert not torch.equal(first, draw(12))
    null_label = conditioner.label.weight[NUM_LABELS]
    reference = conditioner.eval()(conditions, 3).frame_BTD
    # frame 0 = base + null action + label; frame 1 differs from it only by the action a_0
    label_dropped = torch.isclose(
        first[:, 0] - reference[:, 0] + conditioner.label(conditions.labels_B), null_label
    ).all(-1)
    action_dropped = torch.isclose(first[:, 1], first[:, 0]).all(-1)
    for dropped in (label_dropped, action_dropped):
        assert abs(dropped.float().mean().item() - dropout) < 0.03
    both = (label_dropped & action_dropped).float().mean().item()
    assert abs(both - dropout**2) < 0.02  # independent per condition


def test_eval_mode_does_not_drop():
    conditioner = make_conditioner(dropout=0.9).eval()
    conditions = random_conditions(8, 4)
    a = conditioner(conditions, 4, generator=torch.Generator().manual_seed(0)).frame_BTD
    b = conditioner(conditions, 4, generator=torch.Generator().manual_seed(1)).frame_BTD
    assert torch.equal(a, b)


def test_unconditional_model_has_a_defined_frame_vector():
    conditioner = Conditioner(ConditionerConfig(width=WIDTH))
    embedded = conditioner(Conditions(), num_frames=3, batch_size=2)
    assert isinstance(embedded, ConditionEmbedding)
    assert embedded.frame_BTD.shape == (2, 3, WIDTH) and embedded.prefix_BPD is None
    assert conditioner(Conditions(), num_frames=3).frame_BTD.shape == (1, 3, WIDTH)
    embedded.frame_BTD.sum().backward()
    assert conditioner.base.grad is not None


@pytest.mark.parametrize(
    ("conditions", "num_frames", "message"),
    [
        (Conditions(actions_BT=torch.tensor([[0, 5]])), 2, r"actions_BT must lie in \[0, 4\]"),
        (Conditions(actions_BT=torch.tensor([[-1, 0]])), 2, "actions_BT must lie"),
        (Conditions(actions_BT=torch.tensor([[0.0, 1.0]])), 2, "actions_BT must hold integer"),
        (Conditions(actions_BT=torch.tensor([0, 1])), 2, "actions_BT must be B×T"),
        (Conditions(actions_BT=torch.tensor([[0, 1]])), 4, "at least 3"),
        (Conditions(labels_B=torch.tensor([3])), 2, r"labels_B must lie in \[0, 2\]"),
        (
            Conditions(torch.zeros(2, 3, dtype=torch.long), torch.zeros(3, dtype=torch.long)),
            2,
            "batch size",
        ),
        (Conditions(texts=["a ball"]), 2, "texts"),
        (Conditions(), 0, "num_frames"),
    ],
)
def test_bad_inputs_raise(conditions, num_frames, message):
    with pytest.raises(ValueError, match=message):
        make_conditioner()(conditions, num_frames)


def test_conditions_the_model_was_not_built_for_raise():
    conditioner = Conditioner(ConditionerConfig(width=WIDTH))
    with pytest.raises(ValueError, match="actions_BT.*num_actions=0"):
        conditioner(Conditions(actions_BT=torch.zeros(1, 2, dtype=torch.long)), 2)
    with pytest.raises(ValueError, match="labels_B.*num_labels=0"):
        conditioner(Conditions(labels_B=torch.zeros(1, dtype=torch.long)), 2)
    with pytest.raises(ValueError, match="dropout"):
        ConditionerConfig(width=WIDTH, dropout=1.5)
    with pytest.raises(ValueError, match="text_prefix"):
        ConditionerConfig(width=WIDTH, text_prefix=True)


def test_training_uses_only_the_kinds_a_model_embeds():
    """A data set's other annotations (class ids beside captions) are dropped, not refused:
    the explicit call above still refuses them."""
    labels_only = Conditioner(ConditionerConfig(width=WIDTH, num_labels=NUM_LABELS))
    given = Conditions(
        actions_BT=torch.zeros(2, 3, dtype=torch.long), labels_B=torch.tensor([0, 2]),
        texts=["a red square moving left", "a blue circle moving up"],
    )  # fmt: skip
    used = labels_only.used(given)
    assert used.actions_BT is None and used.texts is None and used.labels_B is given.labels_B
    assert labels_only(used, 3).frame_BTD.shape == (2, 3, WIDTH)
    both = make_conditioner().used(given)
    assert both.actions_BT is given.actions_BT and both.labels_B is given.labels_B


@pytest.fixture(scope="module")
def text_conditioner():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        torch.manual_seed(0)
        config = ConditionerConfig(
            width=WIDTH, text_encoder="default", text_prefix=True, text_max_tokens=12
        )
        conditioner = Conditioner(config).eval()
        conditioner(Conditions(texts=["warm up"]), 1)  # loads the encoder while offline
        yield conditioner


def test_text_prefix_and_its_null(text_conditioner):
    texts = ["a red ball bounces", "two blue squares move left slowly"]
    embedded = text_conditioner(Conditions(texts=texts), num_frames=3)
    assert embedded.prefix_BPD.shape == (2, 12, WIDTH)
    assert embedded.prefix_mask_BP.dtype == torch.bool
    assert embedded.prefix_mask_BP.sum(1).tolist()[0] < embedded.prefix_mask_BP.sum(1).tolist()[1]
    assert not torch.allclose(embedded.frame_BTD[0], embedded.frame_BTD[1])
    null = text_conditioner(Conditions(texts=texts), num_frames=3, drop_all=True)
    missing = text_conditioner(Conditions(), num_frames=3, batch_size=2)
    for field in ("frame_BTD", "prefix_BPD", "prefix_mask_BP"):
        assert torch.equal(getattr(null, field), getattr(missing, field))
    assert null.prefix_BPD.shape == embedded.prefix_BPD.shape  # CFG passes can share a batch
    assert null.prefix_mask_BP[:, 0].all() and not null.prefix_mask_BP[:, 1:].any()
    assert torch.equal(null.prefix_BPD[:, 0], text_conditioner.prefix_null.expand(2, -1))


def test_text_encoder_is_not_in_the_state_dict(text_conditioner):
    names = list(text_conditioner.state_dict())
    assert not any(name.startswith("text_encoder") for name in names)
    assert sum(p.numel() for p in text_conditioner.parameters()) < 100_000
    assert text_conditioner.config.text_encoder == "default"  # referenced by path
