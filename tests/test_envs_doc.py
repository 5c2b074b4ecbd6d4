"""docs/envs.md's exclusion table lists exactly the ids tagged as not runnable here."""

import re
from pathlib import Path

from tests.test_conformance import NOT_HERE_TAGS
from warl.core.registry import create_registry


def test_exclusion_table_matches_the_registry_tags():
    registry = create_registry()
    tagged = {i for i in registry.ids("env")
              if any(t in registry.get(i).tags for t in NOT_HERE_TAGS)}
    text = Path(__file__).parents[1].joinpath("docs", "envs.md").read_text()
    table = text.split("## Not runnable here", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([^`]+)` \|", table, re.M))
    assert listed == tagged, f"missing: {sorted(tagged - listed)}, extra: {sorted(listed - tagged)}"
