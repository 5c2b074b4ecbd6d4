"""`warl new-plugin`: the scaffolded env and algorithm, pip-installed as a third party would,
pass their own tests and `warl check`, and the algorithm trains on the env with `warl train`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from warl.core.cli import main


def test_scaffolded_env_and_algorithm_install_check_and_train(tmp_path, capsys):
    for name, kind in (("my-envs", "env"), ("my-algos", "algorithm")):
        assert main(["new-plugin", name, "--kind", kind, "--dir", str(tmp_path)]) == 0
    assert "warl check my-algos/rwr" in capsys.readouterr().out
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site),
                    str(tmp_path / "my-envs"), str(tmp_path / "my-algos")],
                   check=True, capture_output=True, text=True, timeout=600)
    env = {**os.environ, "PYTHONPATH": str(site)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                              timeout=600, cwd=tmp_path)

    for plugin in ("my-envs", "my-algos"):
        own = run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / plugin))
        assert own.returncode == 0, own.stdout + own.stderr
    for plugin_id in ("my-envs/reach", "my-algos/rwr"):
        checked = run("-m", "warl.core.cli", "check", plugin_id)
        assert checked.returncode == 0 and f"{plugin_id}: ok" in checked.stdout, checked.stdout
    trained = run("-m", "warl.core.cli", "train", "my-algos/rwr", "--env", "my-envs/reach",
                  "--out", str(tmp_path / "run"), "--quiet", "--json",
                  "--set", "train.env_steps=400", "--set", "train.minutes=0",
                  "--set", "train.final_trials=5", "--set", "train.eval_trials=2",
                  "--set", "train.eval_every=200")
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert summary["online_env_steps"] >= 400 and summary["updates"] > 0
    assert [r["method"] for r in summary["rows"]] == ["my-algos/rwr"]
    assert (tmp_path / "run" / "checkpoint" / "state.json").is_file()
