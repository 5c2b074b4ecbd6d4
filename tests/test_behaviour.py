"""Behaviour preserved: every trainable built-in, trained CI-sized with the synchronous loop
and fixed seeds, gives exactly the recorded losses, counters, evaluations and weights (see
`tests/behaviour.py` for what is recorded and when it may be re-recorded)."""

from __future__ import annotations

import json

import pytest

from tests.behaviour import GOLDEN, RUNS, observe


@pytest.mark.parametrize("algo", sorted(RUNS))
def test_a_ci_sized_run_gives_the_recorded_behaviour(algo, small_wa, tmp_path):
    expected = json.loads(GOLDEN.read_text())[algo]
    got = observe(algo, tmp_path)
    assert got["train"] == expected["train"]
    assert got["eval"] == expected["eval"]
    assert got["final"] == expected["final"]
    assert got["weights"] == expected["weights"]
