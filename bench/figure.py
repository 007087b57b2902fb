"""What a benchmark returns, and the timing helper they share."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    baseline: float
    unit: str = "s"

    def line(self, suffix: str = "") -> str:
        ratio = self.value / self.baseline if self.baseline else float("inf")
        return (
            f"{self.name}{suffix}: {self.value:.3f} {self.unit} "
            f"(baseline: {self.baseline:.3f} {self.unit}, ratio: {ratio:.2f})"
        )


def best_of(n: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(n):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best
