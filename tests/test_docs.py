"""docs/plugins.md documents every hook with an example that runs."""

import re
import types
from pathlib import Path

import pytest

from warl.core import hookspecs
from warl.core.registry import create_registry

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
SECTIONS = {
    m.group(1): m.group(2)
    for m in re.finditer(r"^## (\w+)\n(.*?)(?=^## |\Z)", DOC.read_text(), re.S | re.M)
}


def test_every_hook_is_documented():
    missing = set(hookspecs.HOOK_KINDS) - set(SECTIONS)
    assert not missing, f"document these hooks in docs/plugins.md: {sorted(missing)}"
    for name in hookspecs.HOOK_KINDS:
        assert getattr(hookspecs, name).__doc__, f"hookspec {name} needs a docstring"


@pytest.mark.parametrize("hook", sorted(hookspecs.HOOK_KINDS))
def test_documented_example_registers(hook):
    section = SECTIONS[hook]
    assert "**Arguments:**" in section and "**Returns:**" in section
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    module = types.ModuleType(f"docs_{hook}")
    exec(compile(code, f"docs/plugins.md#{hook}", "exec"), module.__dict__)
    registry = create_registry(entry_points=False, plugins=[("docs", module)])
    assert registry.failures == []
    (spec,) = registry.specs(hookspecs.HOOK_KINDS[hook])
    assert spec.id.startswith("docs/") and spec.provider == "docs"
    if hook == "warl_register_envs":
        env = registry.make(spec.id)
        assert env.reset(seed=0)[1]["instruction"] and env.max_episode_steps == 100
        env.close()


def test_the_algorithm_contract_is_documented_whole():
    """Every member of every loop Protocol, every `needs` value and every public member of the
    Session appears in docs/plugins.md."""
    from warl.core.training import contract
    from warl.core.training.session import Session

    text = DOC.read_text()
    protocols = [contract.Trainable, contract.RolloutPolicy, *contract.FAMILIES.values()]
    names = {m for p in protocols for m in contract.members(p)}
    names |= set(contract.NEEDS)
    names |= {n for n in vars(Session) if not n.startswith("_")}
    names |= {"setup", "registry", "show_progress", "algorithm", "algorithm_id", "env_id", "log"}
    undocumented = sorted(n for n in names if f"`{n}" not in text and f"{n}(" not in text
                          and f" {n}" not in text)
    assert not undocumented, f"document in docs/plugins.md: {undocumented}"
