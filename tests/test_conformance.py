"""`warl check` over every registered env id (parametrized by id)."""

import pytest

from tests.conftest import no_vulkan
from warl.core.check import check_plugin
from warl.core.make import missing_requirement
from warl.core.registry import create_registry

REGISTRY = create_registry()
ENV_IDS = REGISTRY.ids("env")
# The default run checks every MetaWorld task and this sample of the other simulators (each
# check makes its env a few times, 5-15 s for SAPIEN and robosuite); `pytest -m slow` the rest.
SAMPLE = {"maniskill/PickCube-v1", "maniskill/StackCube-v1", "maniskill/MS-CartpoleBalance-v1",
          "maniskill/TwoRobotPickCube-v1", "robosuite/Lift", "robosuite/TwoArmLift",
          "aloha/insertion"}
# Registered, but not runnable on this machine (docs/envs.md says why for each).
NOT_HERE_TAGS = ("needs-assets", "not-here")


def _sampled(env_id):
    if env_id.split("/")[0] in ("maniskill", "robosuite", "aloha") and env_id not in SAMPLE:
        return pytest.param(env_id, marks=pytest.mark.slow)
    return env_id


def test_every_builtin_env_is_registered():
    for family, count in (("metaworld", 50), ("maniskill", 74), ("robosuite", 19), ("aloha", 2)):
        assert len([i for i in ENV_IDS if i.startswith(f"{family}/")]) == count, family


@pytest.mark.parametrize("env_id", [_sampled(i) for i in ENV_IDS])
def test_env_conforms(env_id):
    spec = REGISTRY.get(env_id)
    if missing_requirement(spec):
        pytest.skip(f"{spec.install_hint} to check {env_id}")
    if "sapien" in spec.tags and no_vulkan():
        pytest.skip(no_vulkan() or "")
    if any(tag in spec.tags for tag in NOT_HERE_TAGS):
        pytest.skip(f"{env_id} does not run here ({', '.join(spec.tags)}; docs/envs.md)")
    if "remote" in spec.tags:  # checked against a served env (test_remote_env_conforms)
        pytest.skip(f"{env_id} needs a server")
    report = check_plugin(env_id, REGISTRY)
    failures = [f"{r.name}: {r.message}" for r in report.results if r.status == "fail"]
    assert not failures, "\n".join(failures)
    assert {r.name for r in report.results if r.status == "pass"} >= {
        "gymnasium_check_env", "seeding_determinism", "chunk_semantics", "light_registration",
        "noninteractive_import", "success_and_instruction", "defaults_json",
    }


def test_remote_env_conforms(tmp_path, monkeypatch):
    """`warl check remote/local --set url=...` against a real server on a free port."""
    from warl.core.remote.outbox import Outbox, next_epoch
    from warl.core.remote.server import EnvServer
    from warl.core.remote.serving import ServedEnv

    token = "c" * 32
    (tmp_path / "token").write_text(token)
    arm = REGISTRY.make("robot/sim-arm", kind="env", lockstep=True, render_mode="rgb_array")
    served = ServedEnv(arm, "robot/sim-arm", epoch=next_epoch(tmp_path),
                       outbox=Outbox(tmp_path))
    with EnvServer(served, token, port=0) as server:
        report = check_plugin("remote/local", REGISTRY,
                              {"url": server.url, "token_file": str(tmp_path / "token")})
    failures = [f"{r.name}: {r.message}" for r in report.results if r.status == "fail"]
    assert not failures, "\n".join(failures)
    passed = {r.name for r in report.results if r.status == "pass"}
    assert {"gymnasium_check_env", "chunk_semantics", "render_mode", "scripted_expert"} <= passed


def test_checker_catches_a_broken_env():
    from tests.conftest import plugin_module
    from warl import PluginSpec, hookimpl

    @hookimpl
    def warl_register_envs():
        return [PluginSpec(id="bad/nondeterministic", kind="env",
                           target="tests.broken_envs:NondeterministicEnv"),
                PluginSpec(id="bad/no-success", kind="env",
                           target="tests.broken_envs:NoSuccessEnv")]

    registry = create_registry(entry_points=False, plugins=[
        ("bad", plugin_module("bad", warl_register_envs=warl_register_envs))])
    report = check_plugin("bad/nondeterministic", registry)
    failed = {r.name: r.message for r in report.results if r.status == "fail"}
    assert "seeding_determinism" in failed and "self.np_random" in failed["seeding_determinism"]
    report = check_plugin("bad/no-success", registry)
    failed = {r.name: r.message for r in report.results if r.status == "fail"}
    assert "info['success']" in failed["success_and_instruction"]
    assert "render_mode" in failed["render_mode"]  # what `warl train` asks for videos
