"""Plugin discovery, failure isolation, allow/block lists, duplicates and lookups."""

import sys

import pytest

from tests.conftest import plugin_module
from warl import PluginSpec, hookimpl
from warl.core.errors import (
    BadKwargsError,
    DuplicateIdError,
    KindMismatchError,
    MissingExtraError,
    PluginLoadError,
    UnknownIdError,
)
from warl.core.registry import create_registry


def env_spec(plugin_id="t/env", **kw):
    return PluginSpec(id=plugin_id, kind="env", target="tests.fake_targets:make_thing", **kw)


def good_plugin(name="good", plugin_id="t/env"):
    @hookimpl
    def warl_register_envs():
        return [env_spec(plugin_id)]

    return plugin_module(name, warl_register_envs=warl_register_envs)


def fresh(*plugins, **kw):
    return create_registry(entry_points=False, plugins=[(p.__name__, p) for p in plugins], **kw)


def test_code_registered_plugin_and_provider():
    registry = fresh(good_plugin())
    spec = registry.get("t/env")
    assert spec.provider == "good"
    assert registry.ids("env") == ["t/env"] and registry.failures == []


def test_hook_that_raises_is_recorded_and_others_work():
    @hookimpl
    def warl_register_envs():
        raise RuntimeError("boom")

    registry = fresh(plugin_module("bad", warl_register_envs=warl_register_envs), good_plugin())
    assert registry.ids() == ["t/env"]
    (failure,) = registry.failures
    assert failure.plugin == "bad" and failure.stage == "hook" and "boom" in failure.message
    assert "RuntimeError" in failure.traceback


def test_misspelt_hook_is_recorded_with_suggestion():
    @hookimpl
    def warl_register_env():
        return []

    registry = fresh(plugin_module("typo", warl_register_env=warl_register_env), good_plugin())
    (failure,) = registry.failures
    assert failure.stage == "register" and "did you mean 'warl_register_envs'" in failure.message
    assert "t/env" in registry


def test_hookimpl_with_wrong_arguments_is_recorded():
    @hookimpl
    def warl_register_envs(context):
        return []

    registry = fresh(plugin_module("args", warl_register_envs=warl_register_envs))
    (failure,) = registry.failures
    assert failure.plugin == "args" and failure.stage == "register"
    assert "context" in failure.message


def test_bad_specs_are_dropped_good_ones_kept():
    @hookimpl
    def warl_register_envs():
        return [{"id": "nope", "kind": "env", "target": "m:x"}, env_spec("t/ok"),
                PluginSpec(id="t/algo", kind="algorithm", target="m:x")]

    registry = fresh(plugin_module("mixed", warl_register_envs=warl_register_envs))
    assert registry.ids() == ["t/ok"]
    messages = [f.message for f in registry.failures]
    assert len(messages) == 2 and "namespace/name" in messages[0] and "kind" in messages[1]


def test_duplicate_id_names_both_providers():
    registry = fresh(good_plugin("first"), good_plugin("second"), good_plugin("ok", "t/other"))
    with pytest.raises(DuplicateIdError, match="'first' and 'second'"):
        registry.get("t/env")
    assert registry.get("t/other").provider == "ok"
    assert [f.stage for f in registry.failures] == ["duplicate"]


def test_strict_mode_makes_failures_fatal():
    @hookimpl
    def warl_register_envs():
        raise RuntimeError("boom")

    registry = fresh(plugin_module("bad", warl_register_envs=warl_register_envs), strict=True)
    with pytest.raises(PluginLoadError, match="'bad' failed at hook"):
        registry.ids()
    strict_env = fresh(good_plugin(), environ={"WARL_STRICT": "1"})
    assert strict_env.manager.strict


def test_unknown_id_suggests():
    registry = fresh(good_plugin(plugin_id="t/peg-insert-side"))
    with pytest.raises(UnknownIdError, match="Did you mean 't/peg-insert-side'"):
        registry.get("t/peg-insert")


def test_kind_mismatch():
    registry = fresh(good_plugin())
    with pytest.raises(KindMismatchError, match="env plugin, not a algorithm"):
        registry.get("t/env", kind="algorithm")


def test_make_passes_defaults_and_rejects_bad_kwargs():
    @hookimpl
    def warl_register_envs():
        return [env_spec("t/thing", defaults={"size": 3})]

    registry = fresh(plugin_module("p", warl_register_envs=warl_register_envs))
    assert registry.make("t/thing") == {"size": 3, "colour": "red"}
    assert registry.make("t/thing", colour="blue")["colour"] == "blue"
    expected = r"'sise'.*Accepted: colour, size.*did you mean 'size'"
    with pytest.raises(BadKwargsError, match=expected):
        registry.make("t/thing", sise=4)


def test_missing_requirement_names_the_extra():
    @hookimpl
    def warl_register_envs():
        return [env_spec("t/heavy", requires=("not_installed_pkg_xyz",), extra="heavy")]

    registry = fresh(plugin_module("p", warl_register_envs=warl_register_envs))
    with pytest.raises(MissingExtraError, match=r"pip install 'p\[heavy\]'"):
        registry.make("t/heavy")


@pytest.fixture
def installed_plugins(tmp_path, monkeypatch):
    """Two plugins installed as distributions on sys.path: one imports fine, one raises."""
    for name, body in {
        "okplug": "from tests.test_plugins import good_plugin\n"
                  "warl_register_envs = good_plugin('okplug').warl_register_envs\n",
        "crashplug": "import pathlib, os\n"
                     "pathlib.Path(os.environ['CRASH_SENTINEL']).write_text('imported')\n"
                     "raise ImportError('crashplug is broken')\n",
    }.items():
        (tmp_path / f"{name}.py").write_text(body)
        info = tmp_path / f"{name}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
        (info / "entry_points.txt").write_text(f"[warl.plugins]\n{name} = {name}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sentinel = tmp_path / "sentinel"
    monkeypatch.setenv("CRASH_SENTINEL", str(sentinel))
    yield sentinel
    for name in ("okplug", "crashplug"):
        sys.modules.pop(name, None)


def test_entry_point_import_failure_is_isolated(installed_plugins):
    registry = create_registry(environ={"WARL_PLUGINS": "okplug,crashplug"})
    assert registry.get("t/env").provider == "okplug"
    assert registry.get("t/env").provider_version == "1.2.3"
    (failure,) = registry.failures
    assert failure.plugin == "crashplug" and failure.stage == "import"
    assert "crashplug is broken" in failure.message


def test_block_list_applies_before_import(installed_plugins):
    registry = create_registry(environ={"WARL_DISABLE_PLUGINS": "crashplug"})
    assert registry.failures == []
    assert not installed_plugins.exists(), "a disabled plugin must never be imported"
    assert "t/env" in registry and "metaworld/reach" in registry


def test_allow_list_applies_before_import(installed_plugins):
    registry = create_registry(environ={"WARL_PLUGINS": "okplug"})
    assert registry.ids() == ["t/env"]
    assert not installed_plugins.exists()
    assert [p.name for p in registry.plugins] == ["okplug"]


def test_builtins_come_through_the_entry_point(builtin_registry):
    (plugin,) = builtin_registry.plugins
    assert plugin.name == "warl" and plugin.source == "entry point warl.plugins"
    assert builtin_registry.get("metaworld/peg-insert-side").provider == "warl"


def test_fake_targets_module_exists():
    # The fake target used above is a real importable module.
    from tests import fake_targets

    assert fake_targets.make_thing(size=1)["size"] == 1
