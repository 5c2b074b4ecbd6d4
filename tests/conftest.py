"""Shared fixtures: every test builds its own registry; nothing leaks between tests."""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from typing import Any

import pytest

from warl.core.registry import Registry, create_registry

# Headless CPU rendering, set before anything imports MuJoCo.
os.environ.setdefault("MUJOCO_GL", "egl")
# Two xdist workers on two cores: one torch thread each, or OpenMP spin-waits oversubscribe.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def plugin_module(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    """A module object holding the given hookimpl functions (a fake plugin)."""
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, function)
    return module


@pytest.fixture
def builtin_registry() -> Registry:
    """The built-ins only, loaded through the entry point like any plugin."""
    return create_registry(environ={"WARL_PLUGINS": "warl"})


@pytest.fixture(scope="session", autouse=True)
def warl_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Pretrained models and demos go to a per-session cache, never the user's."""
    path = tmp_path_factory.mktemp("warl-cache")
    old = os.environ.get("WARL_CACHE_DIR")
    os.environ["WARL_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("WARL_CACHE_DIR", None)
    else:
        os.environ["WARL_CACHE_DIR"] = old


# A CI-sized warl/wa-small: state only, few demos, few steps. Tests share it through the cache.
SMALL_WA = {"obs_mode": "state", "demos": 12, "train_steps": 400, "hidden": 128}
SMALL_TASK = "metaworld/button-press-topdown"


@pytest.fixture(scope="session")
def small_wa(warl_cache: Any) -> Any:
    """The CI-sized WA model for `SMALL_TASK`, pretrained once per test session (worker)."""
    import warl

    return warl.make("warl/wa-small", env=SMALL_TASK, show_progress=False, **SMALL_WA)


def passed_checks(plugin_id: str) -> tuple[set[str], Any]:
    """Run `warl check` on ``plugin_id``; fail with every failed check's message, else return
    the names of the checks that passed and the report."""
    from warl.core.check import check_plugin

    report = check_plugin(plugin_id)
    failed = [r for r in report.results if r.status == "fail"]
    assert report.ok, "\n".join(f"{r.name}: {r.message}" for r in failed)
    return {r.name for r in report.results if r.status == "pass"}, report


def no_vulkan() -> str | None:
    """Why SAPIEN (ManiSkill) cannot render here, or None: it needs a Vulkan driver, which
    on a CPU-only machine is Mesa's lavapipe (docs/envs.md, "Installing")."""
    icd = os.environ.get("VK_ICD_FILENAMES")
    paths = [icd] if icd else [os.path.join(d, f) for d in ("/usr/share/vulkan/icd.d",
                                                             "/etc/vulkan/icd.d")
                               if os.path.isdir(d) for f in os.listdir(d)]
    if any(os.path.exists(p) for p in paths):
        return None
    return "no Vulkan driver for SAPIEN: install mesa-vulkan-drivers (docs/envs.md)"
