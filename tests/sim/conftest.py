"""One small generation shared by the simulator's tests (about 12,000 orders)."""

from __future__ import annotations

import pytest

from cityline.sim import generate

SMALL_SCALE = 0.01


@pytest.fixture(scope="session")
def small_run() -> list[dict]:
    return list(generate("2020", scale=SMALL_SCALE, seed=7))
