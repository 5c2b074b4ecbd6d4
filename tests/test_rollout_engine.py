"""The rollout engine: N envs stepped as a batch, episodes in request order, the same
transitions whether the envs step in this process or in Gymnasium's `AsyncVectorEnv`, and the
same transitions with 1 or N envs when nothing is batched."""

from __future__ import annotations

import dataclasses

import numpy as np

from tests.test_ray import _same
from tests.test_workers import _session
from warl.core.envs.chunked import ChunkedEnv
from warl.core.rollout.engine import EpisodeRequest, RolloutEngine, policy_copies
from warl.core.rollout.vector import SerialVector

SEEDS = (21, 22, 23)


class NoisyPolicy:
    """A random chunk per decision from its own seeded generator (no WA model)."""

    def __init__(self, chunk: int) -> None:
        self.chunk, self.rng = chunk, np.random.default_rng(0)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def features(self, observation, wa_output):
        return {"state": np.asarray(observation["state"], np.float32)}

    def act(self, observation, wa_output=None, explore=False):
        return self.rng.uniform(-1, 1, (self.chunk, 4)).astype(np.float32)


def test_episodes_come_back_in_request_order_the_same_with_one_env_or_three():
    import warl

    def engine(n: int) -> RolloutEngine:
        envs = [ChunkedEnv(warl.make("metaworld/reach", max_episode_steps=60), 5)
                for _ in range(n)]
        return RolloutEngine(SerialVector(envs), None, policy_copies(NoisyPolicy(5), n))

    requests = [EpisodeRequest(s) for s in (*SEEDS, 24, 25)]
    done = []
    one = engine(1).run(requests)
    three = engine(3).run(requests, on_done=done.append)
    assert [r.seed for r in three] == [r.seed for r in requests]
    assert sorted(r.seed for r in done) == sorted(r.seed for r in requests)
    for a, b in zip(one, three, strict=True):
        _same(a, b)


def test_gymnasium_async_vector_envs_collect_what_serial_envs_do(small_wa, tmp_path):
    session = _session(tmp_path)
    state = session.rollout_state()
    requests = [EpisodeRequest(seed) for seed in SEEDS]
    recipe = dataclasses.replace(session.recipe(), envs=2)
    serial = recipe.build().episodes(state, requests)
    vector = dataclasses.replace(recipe, vector="async").build()
    try:
        parallel = vector.episodes(state, requests)
        evaluation = vector.evaluation(state, [1_000_000, 1_000_001, 1_000_002])
    finally:
        vector.engine.vector.close()
    for a, b in zip(serial, parallel, strict=True):
        _same(a, b)
    assert len(evaluation.trials) == 3
