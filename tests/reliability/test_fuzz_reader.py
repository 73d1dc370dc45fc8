"""Fuzz: >= 1,000 random and mutated shards through the safe reader and the data modules'
sample checks (what training and `arvideo encode` read through). No crash, bounded memory,
every bad sample counted and named, every returned sample intact. Seeded; a few seconds."""

from __future__ import annotations

import random
import resource

CASES_PER_KIND = 38  # x 27 kinds = 1,026 shards


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def test_fuzzed_shards_are_counted_never_crash(shard_cases, tmp_path):
    rng = random.Random(18)
    before = peak_rss_mb()
    outcomes = [
        shard_cases.run_case(shard_cases.make_case(kind, rng), tmp_path, index)
        for kind in shard_cases.ALL_KINDS
        for index in range(CASES_PER_KIND)
    ]
    assert len(outcomes) >= 1000
    broken = [(o.kind, o.problems) for o in outcomes if o.problems]
    assert not broken, broken[:5]
    assert all(o.refused for o in outcomes if o.scope != "random")
    # header bombs promise 10^12 bytes, oversize members 64 kB; none may be allocated
    assert peak_rss_mb() - before < 200
