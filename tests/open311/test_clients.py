"""The PyPI Open311 clients against a real ``cityline serve`` (``check_clients.py``)."""

from __future__ import annotations

import time

import pytest

from tests.open311.check_clients import check


@pytest.mark.slow  # a server's warm-up: ~15 s of CPU, a minute on a crowded machine
def test_civicbot_and_georeport_against_a_real_server(tmp_path):
    started = time.monotonic()
    checked = check(tmp_path)
    assert len(checked) == 7, checked
    print(*checked, f"all in {time.monotonic() - started:.1f} s", sep="\n")
