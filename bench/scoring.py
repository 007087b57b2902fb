"""Benchmarks: scoring. Each function returns a Figure or a list of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BENCHES: list[Callable[[], Any]] = []
