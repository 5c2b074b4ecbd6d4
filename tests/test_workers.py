"""The process rollout worker: the same transitions as the inline one for the same seeds and
weights, evaluations in the worker, a whole training run with it, and a clear error when the
worker dies."""

from __future__ import annotations

import numpy as np
import pytest

from tests.behaviour import RUNS
from tests.conftest import SMALL_TASK, SMALL_WA
from warl.core.registry import default_registry
from warl.core.training.collector import InlineBackend
from warl.core.training.config import make_train_config
from warl.core.training.log import RunLog, read_csv
from warl.core.training.run import assemble_request, make_request
from warl.core.training.session import Session
from warl.core.training.workers import ProcessBackend, WorkerError

QUICK = {"minutes": 0, "demos": 0, "baseline": False, "eval_trials": 2, "eval_every": 500,
         "final_trials": 2, "videos": 0, "torch_threads": 1, "checkpoint_every": 10**6}


def _session(tmp_path, **train):
    request = make_request("halo-wa", SMALL_TASK, {"algorithm": RUNS["halo-wa"], "wa": SMALL_WA})
    setup = assemble_request(request, default_registry(), render=False, show_progress=False)
    session = Session(setup, make_train_config({**QUICK, **train}), tmp_path,
                      default_registry(), show_progress=False)
    session.log = RunLog(tmp_path)
    return session


def test_the_process_worker_collects_what_the_inline_one_does(small_wa, tmp_path):
    session = _session(tmp_path)
    state = session.rollout_state()
    inline = InlineBackend(session.collector).submit("episode", state, 123).result()
    worker = ProcessBackend(session.recipe())
    try:
        remote = worker.submit("episode", state, 123).result()
        evaluation = worker.submit("evaluation", state, [1_000_000, 1_000_001]).result()
    finally:
        worker.close()
    a, b = inline.record, remote.record
    assert (a.success, a.length, len(a.steps)) == (b.success, b.length, len(b.steps))
    for x, y in zip(a.steps, b.steps, strict=True):
        np.testing.assert_array_equal(x.action, y.action)
        assert x.reward == y.reward and x.steps == y.steps
        for key in x.features:
            np.testing.assert_array_equal(x.features[key], y.features[key])
    assert len(evaluation.trials) == 2


def test_a_run_with_the_process_worker(small_wa, tmp_path):
    session = _session(tmp_path, env_steps=1000, asynchronous=True, backend="process")
    session.algorithm.train(session)
    session.log.close()
    assert session.counters.env_steps >= 1000 and session.counters.updates > 0
    assert len(read_csv(tmp_path / "eval.csv")) >= 2  # evaluations ran in the worker


def test_a_killed_worker_is_restarted_and_its_episodes_collected_again(small_wa, tmp_path,
                                                                          capsys):
    import os
    import signal

    session = _session(tmp_path)
    state = session.rollout_state()
    seeds = list(range(7, 13))
    expected = [InlineBackend(session.collector).submit("episode", state, s).result().record
                for s in seeds]
    worker = ProcessBackend(session.recipe())
    try:
        first = worker.process.pid
        futures = [worker.submit("episode", state, s) for s in seeds]
        futures[0].result(timeout=300)
        os.kill(first, signal.SIGKILL)  # while it collects the second episode
        got = [f.result(timeout=300).record for f in futures]
        assert worker.restarts == 1 and worker.process.pid != first
    finally:
        worker.close()
    assert "restarting it (1/3)" in capsys.readouterr().err
    for a, b in zip(expected, got, strict=True):  # each collected once, exactly as inline
        assert (a.length, a.success, a.episode_return) == (b.length, b.success, b.episode_return)
        np.testing.assert_array_equal(a.steps[-1].action, b.steps[-1].action)


def test_a_worker_that_keeps_dying_is_a_clear_error(small_wa, tmp_path):
    worker = ProcessBackend(_session(tmp_path).recipe(), max_restarts=0)
    worker.process.kill()
    worker.process.join()
    with pytest.raises(WorkerError, match="exited"):
        worker.submit("episode", None, 1).result(timeout=60)
    worker.close()
