"""The gap-sizing script: the gap of one size, merging a finer sweep into a coarse one, and one
real sweep through `warl eval` on a tiny WA model."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sweep():
    spec = importlib.util.spec_from_file_location("gap_sweep", ROOT / "benchmarks/gap_sweep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_size_scales_the_unit_direction(sweep):
    gap = sweep.gap_for(0.1, [0.8, -0.6, 0.0], 3.0, None)
    assert gap == {"calibration": {"bias": [0.08, -0.06, 0.0], "yaw_deg": 3.0}}
    joint = sweep.gap_for(0.05, [1.0, 1.0], 0.0, [1, 8])["calibration"]
    assert joint["dims"] == [1, 8]
    np.testing.assert_allclose(np.linalg.norm(joint["bias"]), 0.05, atol=1e-5)
    assert sweep.gap_for(0.0, [0.8, -0.6, 0.0], 0.0, None) == {}


def test_a_finer_sweep_keeps_the_coarse_rows(sweep, tmp_path):
    args = argparse.Namespace(env="e/x", seed=0, wa_sets=[], direction=[1.0, 0.0, 0.0],
                              yaw_deg=3.0, dims=None, trials=30)
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(sweep.merged(path, args, [{"size": 0.1, "success_rate": 0.5},
                                                          {"size": 0.2, "success_rate": 0.1}])))
    args.trials = 50
    data = sweep.merged(path, args, [{"size": 0.1, "success_rate": 0.4},
                                     {"size": 0.15, "success_rate": 0.3}])
    assert [(r["size"], r["trials"]) for r in data["rows"]] == [
        (0.1, 30), (0.1, 50), (0.15, 50), (0.2, 30)]
    args.yaw_deg = 0.0  # another protocol: the old rows are not mixed in
    assert len(sweep.merged(path, args, [{"size": 0.1, "success_rate": 0.4}])["rows"]) == 1


def test_a_real_sweep_through_warl_eval(sweep, tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "RESULTS", tmp_path)
    assert sweep.main(["--env", "metaworld/reach", "--sizes", "0", "0.5", "--trials", "2",
                       "--wa-set", "obs_mode=state", "--wa-set", "demos=2",
                       "--wa-set", "train_steps=20"]) == 0
    data = json.loads((tmp_path / "gap_sweep__metaworld_reach.json").read_text())
    assert [r["size"] for r in data["rows"]] == [0.0, 0.5]
    assert data["rows"][0]["gap"] == {}
    assert data["rows"][1]["gap"]["calibration"]["yaw_deg"] == 3.0
    assert all(0.0 <= r["success_rate"] <= 1.0 and r["trials"] == 2 for r in data["rows"])
