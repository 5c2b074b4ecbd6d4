"""Run after `pip install .`: the plugin is discovered and passes warl's conformance suite."""

from warl.core.check import check_plugin
from warl.core.envs import ChunkedEnv
from warl.core.registry import create_registry


def test_discovered_with_provider_version():
    registry = create_registry()
    spec = registry.get("example/point-reach")
    assert spec.provider == "warl-example-plugin"
    assert "example/random-chunks" in registry.ids("algorithm")


def test_conformance():
    report = check_plugin("example/point-reach", create_registry())
    assert report.ok, report.to_dict()


def test_random_chunks_act_in_chunked_env():
    registry = create_registry()
    env = registry.make("example/point-reach")
    algo = registry.make("example/random-chunks", env)
    chunked = ChunkedEnv(env, algo.chunk)
    obs, _ = chunked.reset(seed=0)
    _, _, _, _, info = chunked.step(algo.act(obs))
    assert info["steps_executed"] >= 1
