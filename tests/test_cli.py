"""The `warl` command line, run as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from warl.core.cli import main

ROOT = Path(__file__).resolve().parents[1]


def warl(*args, env=None, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "warl.core.cli", *args], capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_list_and_info_import_no_heavy_module():
    code = (
        "import sys\nfrom warl.core.cli import main\n"
        "main(['list']); main(['info', 'metaworld/peg-insert-side'])\n"
        "heavy = [m for m in ('torch', 'mujoco', 'metaworld', 'gymnasium', 'numpy') "
        "if m in sys.modules]\nprint('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "metaworld/peg-insert-side" in out and "HEAVY []" in out


def test_list_json_and_kind_filter():
    rows = json.loads(warl("list", "--kind", "env", "--json").stdout)
    assert {r["kind"] for r in rows} == {"env"} and len(rows) >= 50
    assert all(r["available"] for r in rows if r["id"].startswith("metaworld/"))


def test_info_json_and_unknown_id():
    info = json.loads(warl("info", "metaworld/hammer", "--json").stdout)
    assert info["target"].endswith(":MetaWorldEnv") and info["defaults"] == {"task": "hammer"}
    proc = warl("info", "metaworld/hamer", check=False)
    assert proc.returncode == 1 and "Did you mean 'metaworld/hammer'" in proc.stderr


def test_plugins_shows_failures(tmp_path):
    (tmp_path / "brokenplug.py").write_text("raise RuntimeError('broken on purpose')\n")
    dist = tmp_path / "brokenplug-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[warl.plugins]\nbrokenplug = brokenplug\n")
    env = {"PYTHONPATH": str(tmp_path)}
    data = json.loads(warl("plugins", "--json", env=env).stdout)
    assert [p["name"] for p in data["plugins"]] == ["warl"]
    (failure,) = data["failures"]
    assert failure["plugin"] == "brokenplug" and "broken on purpose" in failure["message"]
    assert "1 plugin failure" in warl("list", env=env).stdout  # the tool keeps working
    strict = warl("list", env={**env, "WARL_STRICT": "1"}, check=False)
    assert strict.returncode == 1 and "brokenplug" in strict.stderr


def test_check_command(capsys):
    assert main(["check", "metaworld/reach"]) == 0
    assert "metaworld/reach: ok" in capsys.readouterr().out
    assert main(["check"]) == 1


def test_demos_collect_and_info(tmp_path, capsys):
    out = tmp_path / "reach.h5"
    assert main(["demos", "collect", "metaworld/reach", "--episodes", "2", "--render",
                 "--image-size", "32", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["demos", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["episodes"] == 2 and info["successful"] == 2
    assert info["obs"] == {"rgb_corner": [32, 32, 3], "state": [39]}
    assert info["instruction"] == "Reach the goal position."
    # Never overwrites: the existing file stays as it was.
    size = out.stat().st_size
    assert main(["demos", "collect", "metaworld/reach", "--episodes", "1", "--out", str(out)]) == 1
    assert out.stat().st_size == size


def test_demo_layout_is_robomimic_compatible(tmp_path):
    h5py = pytest.importorskip("h5py")
    out = tmp_path / "d.h5"
    assert main(["demos", "collect", "metaworld/reach", "--episodes", "1", "--out", str(out),
                 "--seed", "5"]) == 0
    with h5py.File(out) as f:
        demo = f["data/demo_0"]
        n = demo.attrs["num_samples"]
        assert demo["actions"].shape == (n, 4) and demo["obs/state"].shape == (n, 39)
        assert demo["rewards"].shape == demo["dones"].shape == demo["success"].shape == (n,)
        assert demo.attrs["seed"] == 5 and bool(demo["dones"][-1]) and demo["success"][-1]
        assert json.loads(f["data"].attrs["env_args"])["env_name"] == "metaworld/reach"
        assert f["data"].attrs["total"] == n
        assert list(f["mask/successful"][()]) == [b"demo_0"]


def test_new_plugin_scaffold_loads(tmp_path):
    from tests.conftest import plugin_module  # noqa: F401  (keeps the fixture module importable)
    from warl.core.registry import create_registry

    for kind in ("env", "algorithm", "world_model", "reward"):
        name = f"my-{kind.replace('_', '-')}"
        assert main(["new-plugin", name, "--kind", kind, "--dir", str(tmp_path)]) == 0
        root = tmp_path / name
        pyproject = (root / "pyproject.toml").read_text()
        assert f'{name} = "my_{kind}.register"' in pyproject and "warl.plugins" in pyproject
        sys.path.insert(0, str(root))
        try:
            import importlib

            register = importlib.import_module(f"my_{kind}.register")
            registry = create_registry(entry_points=False, plugins=[(name, register)])
            assert registry.failures == []
            (spec,) = registry.specs(kind)
            if kind == "env":
                env = registry.make(spec.id)
                assert env.reset(seed=0)[1]["instruction"]
            proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                   str(root / "tests")], capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": str(root)}, cwd=root)
            # The generated test expects the entry point, i.e. a pip install; without it the
            # registration module still loads (above) and the test reports the missing id.
            assert "passed" in proc.stdout or "failed" in proc.stdout, proc.stdout + proc.stderr
        finally:
            sys.path.remove(str(root))
    assert main(["new-plugin", "my-env", "--kind", "env", "--dir", str(tmp_path)]) == 1


def test_help_lists_every_command():
    out = warl("--help").stdout
    for command in ("list", "info", "plugins", "check", "demos", "new-plugin"):
        assert command in out


def test_progress_goes_to_a_log_as_lines_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    from warl.core import progress

    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    with progress.progress_bar("demos", 2) as advance:
        advance(1, loss="0.50")
        advance(1, loss="0.25")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("demos: 1/2 (50%) loss 0.50 [")
    assert lines[-1].startswith("demos: 2/2 (100%) loss 0.25 [") and len(lines) == 2
