"""Ray, the scale-out engine: the same transitions as inline and process workers for the same
seeds and weights (whatever the envs per worker), a two-worker training run, and a two-cell
`warl bench` over Ray. All in one xdist group, so two local clusters never share the cores;
each test starts its own local cluster and shuts it down."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tests.conftest import SMALL_TASK, SMALL_WA
from tests.test_bench import REPS
from tests.test_workers import _session
from warl.core.rollout.engine import EpisodeRequest
from warl.core.training.collector import InlineBackend
from warl.core.training.log import read_csv
from warl.core.training.workers import ProcessPool

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group("ray")


def _same(a, b) -> None:
    assert a.seed == b.seed and a.record.success == b.record.success
    assert len(a.record.steps) == len(b.record.steps)
    for x, y in zip(a.record.steps, b.record.steps, strict=True):
        np.testing.assert_array_equal(x.action, y.action)
        assert (x.reward, x.steps, x.terminated) == (y.reward, y.steps, y.terminated)
        for key in x.features:
            np.testing.assert_array_equal(x.features[key], y.features[key])
    for key in a.record.final_features:
        np.testing.assert_array_equal(a.record.final_features[key],
                                      b.record.final_features[key])


def test_inline_process_and_ray_collect_the_same_transitions(small_wa, tmp_path):
    session = _session(tmp_path)
    state = session.rollout_state()
    requests = [EpisodeRequest(seed) for seed in (11, 12, 13)]
    inline = InlineBackend(session.collector).submit("episodes", state, requests).result()
    pool = ProcessPool(session.recipe(), workers=1)
    try:
        process = pool.submit("episodes", state, requests).result()
    finally:
        pool.close()
    from warl.core.training.ray_backend import RayBackend

    backend = RayBackend(session.recipe(), workers=2)
    try:
        futures = [backend.submit("episodes", state, requests[:2]),
                   backend.submit("episodes", state, requests[2:])]
        remote = [r for f in futures for r in f.result()]
        evaluation = backend.submit("evaluation", state, [1_000_000, 1_000_001]).result()
    finally:
        backend.close()
    assert not ray.is_initialized()  # the backend shut down the cluster it started
    for a, b, c in zip(inline, process, remote, strict=True):
        _same(a, b)
        _same(a, c)
    assert len(evaluation.trials) == 2
    # Two envs per worker: one batched WA inference for both. Each env keeps its own noise,
    # so the decisions are the same up to float rounding (BLAS blocks a batch of 2 unlike 1).
    batched = dataclasses.replace(session.recipe(), envs=2).build()
    pairs = batched.episodes(state, requests)
    for a, b in zip(inline, pairs, strict=True):
        for key, value in a.record.steps[0].features.items():
            np.testing.assert_allclose(value, b.record.steps[0].features[key], atol=1e-5)
        np.testing.assert_allclose(a.record.steps[0].action, b.record.steps[0].action,
                                   atol=1e-4)


def test_a_two_worker_ray_run(small_wa, tmp_path):
    session = _session(tmp_path, env_steps=1200, asynchronous=True, backend="ray", workers=2,
                       envs_per_worker=2)
    session.algorithm.train(session)
    session.log.close()
    assert session.counters.env_steps >= 1200 and session.counters.updates > 0
    rows = read_csv(tmp_path / "train.csv")
    assert [int(r["episode"]) for r in rows] == list(range(1, len(rows) + 1))
    assert len(session.replay.online) == session.counters.transitions  # none stored twice
    assert not ray.is_initialized()


def test_a_two_cell_bench_on_ray(small_wa, tmp_path, capsys):
    from warl.core.cli import main

    out = tmp_path / "bench"
    sets = [f"--set=wa.{k}={json.dumps(v)}" for k, v in SMALL_WA.items()]  # the cached model
    code = main(["bench", "--algos", "wa-base", "--envs", SMALL_TASK, "--seeds", "2",
                 "--trials", "2", "--budget", "200", "--backend", "ray", "--quiet", REPS,
                 "--set", "train.videos=0", "--out", str(out), *sets])
    assert code == 0, capsys.readouterr().err
    cells = sorted(p.parent for p in out.rglob("results.json"))
    assert len(cells) == 2
    assert all(json.loads((c / "results.json").read_text()) for c in cells)
    assert "ray: 2 cell(s)" in capsys.readouterr().err
    assert not ray.is_initialized()


def test_a_killed_ray_worker_is_restarted_and_its_episodes_collected_again(small_wa, tmp_path):
    session = _session(tmp_path)
    state = session.rollout_state()
    requests = [EpisodeRequest(seed) for seed in (31, 32)]
    expected = InlineBackend(session.collector).submit("episodes", state, requests).result()
    from warl.core.training.ray_backend import RayBackend

    backend = RayBackend(session.recipe(), workers=1)
    try:
        actor = backend.actors[0]
        first = ray.get(actor.pid.remote())
        future = backend.submit("episodes", state, requests)
        ray.kill(actor, no_restart=False)  # the actor dies with the call pending
        again = future.result(timeout=300)
        assert ray.get(actor.pid.remote()) != first  # Ray started it again
    finally:
        backend.close()
    for a, b in zip(expected, again, strict=True):
        _same(a, b)
