"""The prompt bench's verdicts: targets read without guidance, CFG judged one setting at a time."""

from arvideo.bench.prompts.report import verdicts


def _row(seen: float, unseen: float | None = None) -> dict:
    accuracy = {"val": {"all": seen, "clips": 96}}
    if unseen is not None:
        accuracy["unseen"] = {"all": unseen, "clips": 96}
    return {"accuracy": accuracy}


def test_targets_are_read_without_guidance_unless_the_recipe_chose_one():
    results = {"p": {"1 constant": _row(0.91, 0.71), "3 constant": _row(0.85, 0.50)}}
    lines = verdicts(results)
    assert "without guidance (CFG 1 constant): seen 0.910 ± 0.029 (target ≥ 0.9: met)" in lines[0]
    assert "unseen 0.710 ± 0.046 (target ≥ 0.7: met)" in lines[0]  # sqrt(0.71 · 0.29 / 96)
    lines = verdicts(results, {"p": "3 constant"})
    assert "chosen guidance (CFG 3 constant): seen 0.850 ± 0.036 (target ≥ 0.9: MISSED)" in lines[0]
    assert "without guidance (CFG 1 constant): seen 0.910" in lines[2]


def test_guidance_must_raise_both_splits_in_one_setting():
    """Gains on different splits at different settings are not a gain of CFG."""
    split_gains = {"1 constant": _row(0.90, 0.70), "1.5 constant": _row(0.95, 0.69),
                   "3 linear": _row(0.88, 0.72)}  # fmt: skip
    assert "CFG does NOT raise both" in verdicts({"p": split_gains})[1]
    one_setting = {**split_gains, "3 constant": _row(0.92, 0.71)}
    line = verdicts({"p": one_setting})[1]
    assert "best setting 3 constant" in line and "CFG raises both" in line


def test_a_label_recipe_has_no_unseen_split():
    results = {"p_label": {"1 constant": _row(0.69), "1.5 constant": _row(0.71)}}
    lines = verdicts(results)
    assert "no class id" in lines[0] and "CFG raises it" in lines[1]
