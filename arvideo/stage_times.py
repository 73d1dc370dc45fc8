"""Wall time and optimizer steps of each stage of a multi-stage job (the main job).

A stage skipped because its output exists is recorded as skipped, so a report never passes
off a reused model's zero seconds as a fast one.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field


@dataclass
class StageTime:
    name: str
    seconds: float = 0.0
    skipped: bool = False
    steps: int | None = None  # optimizer steps made (training stages)
    planned_steps: int | None = None

    def describe(self) -> str:
        if self.skipped:
            return f"{self.name} reused"
        text = f"{self.name} {self.seconds:.0f} s"
        if self.steps is not None:
            text += f" ({self.steps:,} of {self.planned_steps:,} steps)"
        return text


@dataclass
class StageTimes:
    stages: list[StageTime] = field(default_factory=list)

    @contextmanager
    def timed(self, name: str):
        """Time the body as stage `name`; the body may set `.steps` on the yielded record."""
        record = StageTime(name)
        started = time.perf_counter()
        try:
            yield record
        finally:
            record.seconds = time.perf_counter() - started
            self.stages.append(record)

    def skip(self, name: str) -> None:
        self.stages.append(StageTime(name, skipped=True))

    def describe(self) -> str:
        return ", ".join(stage.describe() for stage in self.stages)

    def to_dict(self) -> list[dict]:
        return [asdict(stage) for stage in self.stages]
