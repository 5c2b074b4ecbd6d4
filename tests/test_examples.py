"""The example third-party package: pip-installed, discovered, listed and conformant."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "warl-example-plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    # Build from a copy: setuptools writes build/ into the source tree, and test workers may
    # build at the same time.
    source = tmp_path_factory.mktemp("src") / EXAMPLE.name
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(source)],
        check=True, capture_output=True, text=True, timeout=600,
    )
    return {**os.environ, "PYTHONPATH": str(target)}


def run(env, *args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_listed_with_its_provider(installed):
    proc = run(installed, "-m", "warl.core.cli", "list", "--json")
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert rows["example/point-reach"]["provider"] == "warl-example-plugin"
    assert rows["example/point-reach"]["provider_version"] == "0.2.0"
    assert rows["example/random-chunks"]["kind"] == "algorithm"
    plugins = json.loads(run(installed, "-m", "warl.core.cli", "plugins", "--json").stdout)
    assert {p["name"] for p in plugins["plugins"]} == {"warl", "example"}
    assert plugins["failures"] == []


def test_passes_warl_check(installed):
    proc = run(installed, "-m", "warl.core.cli", "check", "example/point-reach")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "example/point-reach: ok" in proc.stdout


def test_its_own_tests_pass(installed):
    proc = run(installed, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_disabled_by_block_list(installed):
    env = {**installed, "WARL_DISABLE_PLUGINS": "example"}
    rows = json.loads(run(env, "-m", "warl.core.cli", "list", "--json").stdout)
    assert not any(r["id"].startswith("example/") for r in rows)
