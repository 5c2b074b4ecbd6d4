"""Registration module: light on purpose (no numpy, no gymnasium): `warl check` verifies."""

from pathlib import Path

from warl import PluginSpec, hookimpl
from warl.core.registry_yaml import specs_of_kind

REGISTRY = Path(__file__).with_name("registry.yaml")


@hookimpl
def warl_register_envs():
    # Specs may come from YAML through warl's loader...
    return specs_of_kind(REGISTRY, "env")


@hookimpl
def warl_register_algorithms():
    # ...or be written in code.
    return [
        PluginSpec(
            id="example/random-chunks",
            kind="algorithm",
            target="warl_example.random_chunks:RandomChunks",
            summary="Uniformly random action chunks: a floor every method must beat.",
            tags=("baseline",),
            defaults={"chunk": 4, "seed": 0},
        )
    ]
