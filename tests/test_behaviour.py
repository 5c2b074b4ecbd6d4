"""Behaviour preserved: every trainable built-in, trained CI-sized with the synchronous loop
and fixed seeds, gives the recorded losses, counters, evaluations and weights (to a relative
1e-3; see `tests/behaviour.py` for what is recorded and when it may be re-recorded)."""

from __future__ import annotations

import json

import pytest

from tests.behaviour import GOLDEN, RUNS, mismatch, observe


@pytest.mark.parametrize("algo", sorted(RUNS))
def test_a_ci_sized_run_gives_the_recorded_behaviour(algo, small_wa, tmp_path):
    expected = json.loads(GOLDEN.read_text())[algo]
    got = observe(algo, tmp_path)
    for part in ("train", "eval", "final", "weights"):
        found = mismatch(got[part], expected[part], part)
        assert found is None, found
