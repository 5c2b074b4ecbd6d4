import pytest

from warl import PluginSpec
from warl.core.errors import SpecError


def make(**overrides):
    fields = {"id": "ns/thing", "kind": "env", "target": "pkg.mod:Cls"}
    return PluginSpec(**{**fields, **overrides})


def test_json_round_trip():
    spec = make(summary="s", requires=["a"], extra="x", tags=["t"], defaults={"k": [1, 2.5]},
                provider="p", provider_version="1.0")
    again = PluginSpec.from_json(spec.to_json())
    assert again == spec
    assert again.requires == ("a",) and again.defaults == {"k": [1, 2.5]}


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("id", "no-namespace", "namespace/name"),
        ("kind", "policy", "kind 'policy'"),
        ("target", "pkg.mod.Cls", "package.module:attribute"),
        ("defaults", {"f": object()}, "JSON-serializable"),
        ("defaults", {"f": float("nan")}, "JSON-serializable"),
    ],
)
def test_invalid_fields_are_named(field, value, needle):
    with pytest.raises(SpecError, match=needle):
        make(**{field: value})


def test_from_dict_rejects_unknown_and_missing_fields():
    with pytest.raises(SpecError, match="unknown field"):
        PluginSpec.from_dict({"id": "a/b", "kind": "env", "target": "m:a", "colour": 1})
    with pytest.raises(SpecError, match="missing field"):
        PluginSpec.from_dict({"id": "a/b", "kind": "env"})


def test_install_hint_names_the_extra():
    spec = make(requires=["metaworld"], extra="metaworld").with_provider("warl", "0.1")
    assert spec.install_hint == "pip install 'warl[metaworld]'"
    assert make(requires=["foo"]).install_hint == "pip install foo"


def test_with_provider_keeps_a_declared_provider():
    assert make(provider="mine").with_provider("dist", "1").provider == "mine"
    assert make().with_provider("dist", "1").provider_version == "1"
