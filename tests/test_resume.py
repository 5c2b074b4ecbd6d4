"""kill -9 in each stock loop, then ``warl train --resume``: the run goes on exactly as the
uninterrupted one (every train.csv row and final trial identical, timings aside)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.behaviour import RUNS
from tests.conftest import SMALL_TASK, SMALL_WA
from warl.core.training.log import read_csv

QUICK = {"minutes": 0, "baseline": False, "eval_trials": 0, "final_trials": 3, "videos": 0,
         "asynchronous": False, "torch_threads": 1}
LOOPS = {  # algorithm -> (its settings, loop settings): one per stock loop
    "halo-wa": (RUNS["halo-wa"], {"env_steps": 4000, "demos": 3, "checkpoint_every": 800}),
    "pld": (RUNS["pld"], {"env_steps": 3000, "demos": 3, "checkpoint_every": 600}),
    "hg-dagger": (RUNS["hg-dagger"], {"env_steps": 3000, "demos": 3, "checkpoint_every": 600}),
    "grpo": ({"group_size": 4}, {"env_steps": 16000, "demos": 0, "checkpoint_every": 3000}),
}
TIMING = ("wall_s", "updates_per_s")


def _args(algo: str, run: Path) -> list[str]:
    algo_settings, train = LOOPS[algo]
    sets = [f"--set={k}={json.dumps(v)}" for k, v in algo_settings.items()]
    sets += [f"--set=train.{k}={json.dumps(v)}" for k, v in {**QUICK, **train}.items()]
    sets += [f"--set=wa.{k}={json.dumps(v)}" for k, v in SMALL_WA.items()]
    return ["train", algo, "--env", SMALL_TASK, "--out", str(run), "--quiet", *sets]


def _cli(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "warl.core.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _record(run: Path) -> tuple[list[dict], dict]:
    rows = [{k: v for k, v in r.items() if k not in TIMING} for r in read_csv(run / "train.csv")]
    finals = {p.name: json.loads(p.read_text())["per_trial"] for p in run.glob("final*.json")}
    return rows, finals


@pytest.mark.parametrize("algo", sorted(LOOPS))
def test_kill_9_then_resume_continues_exactly(algo, small_wa, tmp_path):
    reference = tmp_path / "reference"
    assert _cli(_args(algo, reference)).wait(timeout=600) == 0

    run = tmp_path / "killed"
    proc = _cli(_args(algo, run))
    state = run / "checkpoint" / "state.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if state.is_file():
            saved = json.loads(state.read_text())
            if saved["stage"] == "train" and (saved["env_steps"] or saved["stages_done"]):
                break
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    checkpointed = json.loads(state.read_text())
    assert checkpointed["env_steps"] < LOOPS[algo][1]["env_steps"]

    resumed = _cli(["train", "--resume", str(run), "--quiet"])
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read() if resumed.stderr else ""
    assert _record(run) == _record(reference)
    assert json.loads((run / "state.json").read_text())["stage"] == "done"
