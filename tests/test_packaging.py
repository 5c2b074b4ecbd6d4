"""Packaging: every package directory is listed in pyproject, the version is consistent."""

from pathlib import Path

import tomllib

import warl

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _dotted(directory: Path) -> str:
    for prefix, base in (("warl.core", ROOT / "core"), ("warl.plugins", ROOT / "plugins")):
        if directory == base or base in directory.parents:
            rel = directory.relative_to(base).parts
            return ".".join((prefix, *rel))
    raise AssertionError(directory)


def test_every_package_is_listed():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        _dotted(init.parent)
        for base in (ROOT / "core", ROOT / "plugins")
        for init in base.rglob("__init__.py")
        if "_api" not in init.parts and "templates" not in init.parts
    }
    assert found <= listed, f"add to pyproject [tool.setuptools] packages: {sorted(found - listed)}"


def test_version_matches_pyproject():
    assert warl.__version__ == PYPROJECT["project"]["version"]


def test_required_top_level_layout():
    for name in ("core", "plugins/algorithms", "plugins/envs", "plugins/world_models",
                 "plugins/rewards", "registry.yaml", "tests", "pyproject.toml"):
        assert (ROOT / name).exists(), name


def test_builtins_register_through_the_entry_point():
    eps = PYPROJECT["project"]["entry-points"]["warl.plugins"]
    assert eps == {"warl": "warl.plugins.builtin"}
