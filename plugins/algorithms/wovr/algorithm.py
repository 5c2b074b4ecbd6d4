"""`wovr`: policy optimisation in a learned world model (WoVR, sections 3-4).

The simulator is a world-model env (`world-model/imagined`'s parts): the action-conditioned
video world model, pretrained on real rollouts of the run's WA model (WM_Base), and the
success classifier on imagined frames, r = 1[R(o) >= 0.5]. The policy is the `grpo`
learner's Gaussian head over the WA reference chunk (any stochastic chunk policy with
log-probabilities), trained by masked GRPO on groups of G imagined trajectories from one
start, all of a batch imagined in one world-model call per chunk (`ImaginedVector`).

- **KIR** (`kir`): a share ``kir_share`` of the groups starts from a keyframe of the real
  trajectories (near success, or a failure's near miss), anchored on that trajectory's first
  frame; the rest start from the real env's initial frame for the group's seed.
- **PACE** (`pace`): the imagined budget is split into ``pace_rounds + 1`` stages; between
  two, real rollouts of the evolved policy refine the world model and the classifier, and
  join the keyframe pool.

Real trajectories are the budget, as in the paper: those the world model and the classifier
learned from and those of PACE are counted (``real_trajectories`` in ``train.csv`` and
``wovr_budget.csv``); imagined steps are counted apart (``train.imagined_steps``).
Evaluations run in the real env, so a run's success rates are real; the imagined success
of each training episode is the ``success`` column of its imagined rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from warl.core.rollout.recorded import Episodes
from warl.core.training.learners.chunk_td3 import same_config
from warl.core.training.loops import imagination
from warl.core.world_model import WAOutput, WorldActionModel
from warl.plugins.algorithms.grpo.algorithm import GRPO
from warl.plugins.algorithms.wovr import kir, pace
from warl.plugins.algorithms.wovr.config import NAME, make_config
from warl.plugins.envs.world_model.imagine import Start


class WoVR:
    """The `wovr` algorithm plugin; see `WoVRConfig` and `GRPOConfig` for every setting."""

    needs = frozenset({"wa_model"})
    requires_no_gap = ("its world model and classifier learn from rollouts of the simulator "
                       "without a deployment gap, so imagination would not have the gap")

    def __init__(self, env: Any, wa_model: WorldActionModel, **settings: Any) -> None:
        self.config, learner = make_config(settings)
        self.settings = dict(settings)
        self.learner = GRPO(env, wa_model, **learner.to_dict())
        self.chunk = self.learner.chunk
        self.group_size, self.groups_per_update = learner.group_size, learner.groups_per_update
        self.wa_model = wa_model
        self.source = str(wa_model.env_id)
        self.sim: Any = None  # the world-model env, built on first use (it may train)
        self.pace_files: list[str] = []
        self.pace_episodes = 0
        self._keys: list[tuple[int, int]] = []
        self._episodes: list[Episodes] = []
        self._index: list[tuple[Episodes, int]] = []  # a keyframe's trajectory -> its file
        self._saved: dict[str, Any] | None = None  # a loaded state the simulator awaits

    make_config = staticmethod(make_config)

    @staticmethod
    def default_config() -> dict[str, Any]:
        """Every setting at its default (`warl info`)."""
        own, learner = make_config({})
        return {**learner.to_dict(), **own.to_dict()}

    # --- the simulator ----------------------------------------------------------------------
    def simulator(self) -> Any:
        """The world-model env over this run's models: WM_Base and the classifier from the
        cache, trained on rollouts of this run's WA model when missing."""
        if self.sim is None:
            from warl.plugins.envs.world_model.env import WorldModelEnv

            c = self.config
            wa = dict(getattr(self.wa_model, "settings", {}) or {})
            wm = {"wa": wa, **c.wm}
            reward = {"wa": wa, **c.reward_settings} if "learned" in self._reward_tags() \
                else dict(c.reward_settings)
            self.sim = WorldModelEnv(source=self.source, world_model=c.world_model, wm=wm,
                                     reward=c.reward, reward_settings=reward,
                                     max_episode_steps=c.max_imagined_steps or None,
                                     pretrained=c.pretrained)
            self._refresh_keyframes()
            self._restore_simulator()
        return self.sim

    def _reward_tags(self) -> tuple[str, ...]:
        from warl.core.registry import default_registry

        return tuple(default_registry().get(self.config.reward, kind="reward").tags)

    def rollout_files(self) -> list[Path]:
        """Every real rollouts file the simulator learned from: WM_Base's, then PACE's."""
        base = self.simulator().model.metrics.get("rollout_file")
        return [Path(p) for p in ([base] if base else []) + self.pace_files]

    def _refresh_keyframes(self) -> None:
        camera = self.sim.camera_key.removeprefix("rgb_")
        self._episodes = [Episodes(p, camera) for p in self.rollout_files() if p.is_file()]
        states = [s for e in self._episodes for s in e.states]
        success = [s for e in self._episodes for s in e.step_success]
        self._keys = kir.keyframes(states, success, self.chunk, self.config.kir_window)
        self._index = [(e, i) for e in self._episodes for i in range(len(e))]

    def real_trajectories(self) -> dict[str, int]:
        """Real episodes spent: the world model's, the classifier's (the same episodes when
        both recorded the same policy, noise and seeds) and PACE's."""
        sim = self.simulator()
        wm = dict(sim.model.metrics)
        reward = dict(getattr(sim.scorer, "metrics", {}) or {})
        n_wm, n_reward = int(wm.get("rollouts", 0)), int(reward.get("rollouts", 0))
        shared = bool(n_reward) and wm.get("rollout_file") is not None and \
            _same_rollouts(wm, reward, sim)
        simulator = max(n_wm, n_reward) if shared else n_wm + n_reward
        return {"world_model": n_wm, "reward": n_reward, "pace": self.pace_episodes,
                "real_trajectories": simulator + self.pace_episodes}

    def start(self, seed: int) -> Start:
        """Where the group with reset seed ``seed`` starts (KIR or a real initial frame)."""
        rng = np.random.default_rng([self.config.seed, seed])
        if self._keys and rng.random() < self.config.kir_share:
            e, t = self._keys[int(rng.integers(len(self._keys)))]
            episodes, i = self._index[e]
            return Start(episodes.frames[i][:t + 1], episodes.states[i][:t + 1])
        return self.sim.real_start(seed)

    # --- acting (the learner's policy) -------------------------------------------------------
    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> Any:
        return self.learner.act(observation, wa_output, explore)

    def features(self, observation: Mapping[str, Any],
                 wa_output: WAOutput | None) -> dict[str, np.ndarray]:
        return self.learner.features(observation, wa_output)

    def make_policy(self) -> Any:
        return self.learner.make_policy()

    def policy_state(self) -> dict[str, Any]:
        return self.learner.policy_state()

    # --- learning ---------------------------------------------------------------------------
    def train(self, session: Any) -> None:
        """Imagination stages with a PACE round between each two."""
        self.simulator()
        session.log_table("wovr_budget", {"stage": "world model", **self.real_trajectories()})
        if self._learned_reward() and self.config.reward_on_reconstructions:
            session.stage("reward-align", lambda: self._align_reward(session))
        rounds = self.config.pace_rounds
        for r in range(rounds + 1):
            share = (r + 1) / (rounds + 1)
            session.stage(f"imagine-{r}", lambda share=share: self._imagine(session, share))
            if r < rounds:
                session.stage(f"pace-{r + 1}", lambda r=r: self._pace(session, r + 1))

    def _imagine(self, session: Any, share: float) -> None:
        vector = self.simulator().vector(self.group_size * self.groups_per_update, self.start,
                                         self.chunk)
        imagination(session, self, vector, same_start=True,
                    budget_left=lambda: _within(session, share))

    def _learned_reward(self) -> bool:
        return hasattr(self.simulator().scorer, "net")

    def _codec(self) -> Any:
        """The world model whose reconstructions the classifier also learns, or None."""
        return self.simulator().model if self.config.reward_on_reconstructions else None

    def _reward_files(self) -> list[Path]:
        """The rollouts the classifier learns from: its own (recorded ``hold`` steps past
        each success, so success states are many frames, not one per episode), then PACE's;
        the world model's when it has none of its own."""
        own = getattr(self.simulator().scorer, "metrics", {}).get("rollout_file")
        if own and Path(own).is_file():
            return [Path(own), *map(Path, self.pace_files)]
        return self.rollout_files()

    def _align_reward(self, session: Any) -> None:
        """The classifier learns its own rollouts' frames as the world model renders them:
        imagined frames come out of that decoder, not a camera."""
        files = self._reward_files()
        if not files:  # an untrained classifier (``pretrained=false``) has none
            return
        sim = self.simulator()
        report = pace.refit_classifier(sim.scorer, files, self.config.reward_align_steps,
                                       self.config.seed * 1000, session.show_progress,
                                       self._codec(), "on reconstructions")
        session.log_table("reward_align", {"steps": self.config.reward_align_steps, **report})

    def _pace(self, session: Any, round_: int) -> None:
        from warl.plugins.world_models.video_wm.pretrain import refine

        c, sim = self.config, self.simulator()
        path = session.run_dir / "pace" / f"round_{round_}.h5"
        before = self.pace_episodes
        pace.record_round(session, self._policy(), c.pace_rollouts, path, self.chunk,
                          sim.camera_key.removeprefix("rgb_"), sim.model.cfg.image_size)
        self.pace_episodes = before + c.pace_rollouts
        self.pace_files = [*self.pace_files, str(path)]
        files = self.rollout_files()
        seed = c.seed * 1000 + round_
        wm = refine(sim.model, files, c.pace_dynamics_steps, seed, session.show_progress)
        reward = pace.refit_classifier(sim.scorer, self._reward_files(), c.pace_reward_steps,
                                       seed, session.show_progress, self._codec()) \
            if self._learned_reward() else {}
        self._refresh_keyframes()
        episodes = Episodes(path, sim.camera_key.removeprefix("rgb_"))
        session.log_table("pace", {"round": round_, "real_episodes": c.pace_rollouts,
                                   "real_success": float(np.mean(episodes.success)),
                                   "keyframes": len(self._keys), **wm, **reward})
        session.log_table("wovr_budget", {"stage": f"pace-{round_}",
                                          **self.real_trajectories()})

    def _policy(self) -> Any:
        policy = self.learner.make_policy()
        policy.load_policy_state(self.policy_state())
        return policy

    def update_on_policy(self, batch: Any) -> dict[str, float]:
        metrics = self.learner.update_on_policy(batch)
        metrics["real_trajectories"] = self.real_trajectories()["real_trajectories"]
        metrics["kir_keyframes"] = len(self._keys)
        return metrics

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        if self.sim is None and self._saved is not None:  # loaded, never trained further
            return {**self._saved, "learner": self.learner.state_dict()}
        sim = self.simulator()
        state = {"config": self.config.to_dict(), "learner": self.learner.state_dict(),
                 "world_model": sim.model.state_dict(), "pace_files": list(self.pace_files),
                 "pace_episodes": self.pace_episodes}
        if hasattr(sim.scorer, "net"):
            state["reward"] = sim.scorer.net.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """The policy now; the simulator's weights when it is next needed (an evaluation of
        the run needs only the policy, and builds no world model)."""
        same_config(state.get("config", {}), self.config.to_dict(), NAME)
        self.learner.load_state_dict(state["learner"])
        self.pace_files = list(state["pace_files"])
        self.pace_episodes = int(state["pace_episodes"])
        self._saved = dict(state)
        if self.sim is not None:
            self._restore_simulator()

    def _restore_simulator(self) -> None:
        if self._saved is None:
            return
        self.sim.model.load_state_dict(self._saved["world_model"])
        if "reward" in self._saved:
            self.sim.scorer.net.load_state_dict(self._saved["reward"])
        self._saved = None
        self._refresh_keyframes()


def _within(session: Any, share: float) -> bool:
    """Whether ``share`` of the imagined-step, update and minute budgets remains unspent
    (``train.imagined_steps`` 0 takes ``train.env_steps`` as the imagined budget)."""
    c, counters = session.config, session.counters
    steps = c.imagined_steps or c.env_steps
    return (counters.imagined_steps < share * steps
            and (not c.updates or counters.updates < share * c.updates)
            and (not c.minutes or counters.online_s < share * 60.0 * c.minutes))


def _same_rollouts(wm: Mapping[str, Any], reward: Mapping[str, Any], sim: Any) -> bool:
    """Whether the classifier recorded the world model's episodes (a prefix of them, its
    ``hold`` steps past a success extending them): the same policy, noise level and seeds."""
    cfg = getattr(sim.scorer, "cfg", None)
    return cfg is not None and cfg.policy == wm.get("policy") and \
        float(cfg.action_noise) == float(wm.get("action_noise", -1)) and \
        int(cfg.seed) == int(sim.model.cfg.seed)
