from pathlib import Path

import pytest

from warl.core.errors import RegistryFileError
from warl.core.registry_yaml import load_registry_yaml, specs_of_kind
from warl.plugins.builtin import REGISTRY_FILE
from warl.plugins.envs.metaworld.tasks import TASKS

ROOT = Path(__file__).resolve().parents[1]


def test_builtin_registry_lists_every_metaworld_task():
    envs = specs_of_kind(REGISTRY_FILE, "env")
    assert {s.id for s in envs} >= {f"metaworld/{t}" for t in TASKS}
    assert len(TASKS) == 50
    assert all(s.defaults["task"] == s.id.split("/")[1] for s in envs if s.namespace == "metaworld")


def test_packaged_registry_is_the_top_level_file():
    assert REGISTRY_FILE.resolve() == (ROOT / "registry.yaml").resolve()


def test_tasks_match_metaworld():
    pytest.importorskip("metaworld")
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    assert {f"{t}-v3" for t in TASKS} == set(ALL_V3_ENVIRONMENTS)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("envs: [1, 2", "not valid YAML"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("gadgets: {}\n", "unknown section 'gadgets'"),
        ("envs:\n  a/b: 3\n", "entry 'a/b' in section 'envs'"),
        ("envs:\n  a/b: {target: 'x'}\n", "entry 'a/b' in section 'envs'.*module:attribute"),
        ("envs:\n  bad: {target: 'm:x'}\n", "entry 'bad'"),
        ("envs:\n  a/b: {target: 'm:x', colour: red}\n", "unknown field"),
    ],
)
def test_malformed_file_names_file_and_entry(tmp_path, text, needle):
    path = tmp_path / "reg.yaml"
    path.write_text(text)
    with pytest.raises(RegistryFileError, match=needle) as info:
        load_registry_yaml(path)
    assert str(path) in str(info.value)


def test_anchors_and_templates(tmp_path):
    path = tmp_path / "reg.yaml"
    path.write_text(
        "templates:\n  t: &t {target: 'm:x', tags: [a]}\n"
        "envs:\n  n/one: {<<: *t, defaults: {k: 1}}\n"
        "algorithms:\n  n/two: {target: 'm:y'}\n"
    )
    specs = load_registry_yaml(path)
    assert [(s.id, s.kind) for s in specs] == [("n/one", "env"), ("n/two", "algorithm")]
    assert specs[0].tags == ("a",) and specs[0].defaults == {"k": 1}
