"""Bad input is refused before any work: one `warl: error:` line naming the key, the value and
what is expected, no traceback, nothing pretrained, recorded or written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.test_plugins import fresh, good_plugin
from warl.core.errors import DuplicateIdError
from warl.core.plugins import PluginInfo

TRAIN = ["train", "halo-wa", "--env", "metaworld/peg-insert-side"]
CASES = [
    (["--set", "utd=abc"], "halo-wa: utd='abc': expected an integer"),
    (["--set", "hiden=3"], "'hiden' (did you mean 'hidden'?)"),
    (["--set", "fusion=hybird"], "did you mean 'hybrid'"),
    (["--set", "gamma=1.5"], "gamma=1.5 is out of range"),
    (["--set", "heads=3"], "must be divisible by heads"),
    (["--gap", "{bad"], "--gap '{bad' is neither"),
    (["--gap", "{calibration: {bais: [1, 2]}}"], "did you mean 'bias'"),
    (["--gap", "{calibraton: {}}"], "did you mean 'calibration'"),
    (["--set", "train.env_steps=abc"], "train.env_steps='abc': expected an integer"),
    (["--set", "train.minutes=-1"], "train.minutes must be >= 0"),
    (["--set", "train.asynchronous=maybe"], "train.asynchronous='maybe': expected true or"),
    (["--set", "train.bogus=1"], "unknown setting 'train.bogus'"),
    (["--set", "wa.obs_mod=state"], "did you mean 'obs_mode'"),
    (["--set", "wa.train_steps=1.5"], "train_steps=1.5: expected an integer"),
    (["--world-model", "warl/wa-small"], "'halo-wa' does not use a world model"),
    (["--set", "train.backend=rya"], "did you mean 'ray'"),
    (["--set", "train.workers=0"], "train.workers must be >= 1"),
    (["--set", "train.replay_precision=float8"], "train.replay_precision"),
]


def _warl(args: list[str], cache) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WARL_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "warl.core.cli", *args], env=env, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("extra,message", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_line_before_any_work(extra, message, tmp_path):
    out = tmp_path / "run"
    result = _warl([*TRAIN, "--out", str(out), *extra], tmp_path / "cache")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warl: error: "), result.stderr
    assert message in lines[0]
    assert not out.exists() and not (tmp_path / "cache").exists()  # nothing built or written


def test_other_algorithms_and_models_check_their_settings_too(tmp_path):
    for args, message in (
            (["train", "sb3/sac", "--env", "metaworld/reach", "--set", "gama=1"],
             "did you mean 'gamma'"),
            (["train", "grpo", "--env", "metaworld/reach", "--set", "group_size=1"],
             "group_size must be >= 2"),
            (["train", "hg-dagger", "--env", "metaworld/reach", "--set", "lr=fast"],
             "lr='fast': expected a number"),
            (["train", "wam-rl", "--env", "metaworld/reach", "--set", "kl_wieght=1"],
             "did you mean 'kl_weight'"),
            (["train", "wam-rl", "--env", "metaworld/reach", "--set", "wa.widht=32"],
             "did you mean 'width'"),
            (["train", "wa-base", "--env", "metaworld/reach", "--set", "chunk=x"],
             "chunk='x'"),
            (["train", "halo-wa", "--env", "metaworld/reach", "--wa-model", "warl/wa-smal",
              "--set", "wa.demos=3"], "Did you mean 'warl/wa-small'"),
            (["train", "halo-wa", "--env", "metaworld/rech"], "Did you mean 'metaworld/reach'"),
            (["train", "hg-dagger", "--env", "metaworld/reach", "--set", "train.vector=async",
              "--set", "train.backend=process"], "train.vector=async cannot put the expert")):
        result = _warl([*args, "--out", str(tmp_path / "run")], tmp_path / "cache")
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_exponent_notation_is_a_number():
    """PyYAML reads 1e-3 (no dot) as a string; a setting of a number type takes it."""
    from warl.core.settings import check_types
    from warl.plugins.algorithms.wam_rl.config import FlowPGConfig

    assert check_types(FlowPGConfig, {"lr": "1e-3", "chunk": "1e1"}, "t") == \
        {"lr": 0.001, "chunk": 10}
    with pytest.raises(Exception, match="lr='1e-3x': expected a number"):
        check_types(FlowPGConfig, {"lr": "1e-3x"}, "t")


def test_a_broken_run_folder_is_one_line_on_resume(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"request": ')
    result = _warl(["train", "--resume", str(run)], tmp_path / "cache")
    assert result.returncode == 1 and "not valid JSON" in result.stderr
    (run / "config.json").write_text(json.dumps({"request": {"algo": "halo-wa"}}))
    result = _warl(["train", "--resume", str(run)], tmp_path / "cache")
    assert result.returncode == 1 and "lacks" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_duplicate_id_hint_names_the_value_that_works():
    registry = fresh(good_plugin("first"), good_plugin("second"))
    registry.manager.infos["second"] = PluginInfo("second", "second-dist", "1.0", "test", "m")
    with pytest.raises(DuplicateIdError) as caught:
        registry.get("t/env")
    assert "'second-dist' (plugin 'second')" in str(caught.value)
    assert "WARL_DISABLE_PLUGINS=second" in str(caught.value)
    fixed = fresh(good_plugin("first"), good_plugin("second"),
                  environ={"WARL_DISABLE_PLUGINS": "second"})
    assert fixed.get("t/env").provider == "first"
