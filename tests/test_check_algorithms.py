"""`warl check ALGO` on every registered algorithm, and what it says of broken ones."""

from __future__ import annotations

import pytest

from tests.fake_algorithms import fake_registry
from warl.core.check import check_plugin
from warl.core.registry import create_registry

REGISTRY = create_registry()


@pytest.mark.parametrize("algo", REGISTRY.ids("algorithm"))
def test_every_registered_algorithm_passes_warl_check(algo):
    report = check_plugin(algo, REGISTRY)
    failures = [f"{r.name}: {r.message}" for r in report.results if r.status == "fail"]
    assert not failures, "\n".join(failures)
    passed = {r.name for r in report.results if r.status == "pass"}
    assert {"settings", "contract", "build", "act"} <= passed
    if algo != "wa-base":
        assert {"train", "state_dict_round_trip"} <= passed


def test_warl_check_names_what_an_algorithm_lacks(monkeypatch):
    from tests import fake_algorithms

    registry = fake_registry()
    report = check_plugin("fake/nothing", registry)
    failed = {r.name: r.message for r in report.results if r.status == "fail"}
    assert "no train(session)" in failed["contract"]
    # An off-policy algorithm without batch_size: the loop names the member.
    monkeypatch.delattr(fake_algorithms._FakeBase, "batch_size")
    report = check_plugin("fake/off-policy", registry)
    failed = {r.name: r.message for r in report.results if r.status == "fail"}
    assert "'batch_size'" in failed["train"] and "OffPolicy" in failed["train"]


def test_warl_check_tells_a_legacy_plugin_how_to_port():
    report = check_plugin("fake/legacy", fake_registry())
    warned = {r.name: r.message for r in report.results if r.status == "warn"}
    # (light_registration fails for a plugin registered in code: its module is not importable)
    assert [r.name for r in report.results if r.status == "fail"] == ["light_registration"]
    assert "warl 0.1 interface" in warned["contract"]
    assert "def train(self, session): off_policy(session, self)" in warned["contract"]
    assert [r.name for r in report.results if r.status == "pass"][-2:] == [
        "train", "state_dict_round_trip"]
