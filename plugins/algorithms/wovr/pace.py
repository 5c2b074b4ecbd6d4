"""PACE, policy-aligned co-evolution (WoVR section 4.3): after a stage of optimisation in
imagination, real rollouts of the evolved policy refine the world model (WM_Base -> WM_Evo)
and the success classifier, so that the simulator follows the policy's new distribution.

A round records ``pace_rollouts`` real episodes with the evolved policy (sampling, as in
imagination) from the training seeds, stored as a rollouts file in the run folder; then
``pace_dynamics_steps`` dynamics steps on the windows of every real rollout so far, and
``pace_reward_steps`` classifier steps on their labelled frames. The round is one stage of the
run: killed midway, it runs again from the checkpoint before it, with the same seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from warl.core.rollout.engine import split_extras
from warl.core.rollout.recorded import Episodes
from warl.core.world_model import batch_of


class EvolvedPolicy:
    """The policy as a per-step callable for `record_episode`: a chunk from the WA model's
    output and the policy's sample, played out, then the next."""

    def __init__(self, wa_model: Any, policy: Any, chunk: int, seed: int) -> None:
        self.wa_model, self.policy, self.chunk = wa_model, policy, chunk
        self.queue: list[np.ndarray] = []
        policy.reseed(seed)
        wa_model.seed(seed)

    def __call__(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        if not self.queue:
            wa = self.wa_model.infer(batch_of(obs)).index(0)
            chunk, _ = split_extras(self.policy.act(obs, wa, explore=True))
            self.queue = list(np.asarray(chunk, np.float32)[:self.chunk])
        return self.queue.pop(0)


def record_round(session: Any, policy: Any, episodes: int, path: Path, chunk: int,
                 camera: str, image_size: int) -> Path:
    """``episodes`` real episodes of ``policy`` in a fresh deployment env that also renders
    the world model's ``camera``, counted by the session as real training episodes, written
    to ``path`` (complete or not at all)."""
    from warl.core.demos import demo_writer, record_episode

    cameras = list(session.setup.config["env_kwargs"].get("cameras") or [])
    env = session.make_env(cameras=[*cameras, *([camera] if camera not in cameras else [])],
                           image_size=image_size)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with demo_writer(partial, session.env_id, {}) as writer, \
                session.progress("PACE rollouts", episodes) as advance:
            for i in range(episodes):
                seed = session.seed_of(session.counters.episodes)
                episode = record_episode(env, EvolvedPolicy(session.wa_model, policy, chunk,
                                                            seed), seed=seed)
                writer.add(episode)
                success = bool(episode.success)
                session.record_episode(success=success, episode_return=float(success),
                                       length=len(episode.actions))
                advance(1, success=f"{len(writer.successful)}/{i + 1}")
    finally:
        env.close()
    partial.rename(path)
    return path


def refit_classifier(classifier: Any, paths: list[Path], steps: int, seed: int,
                     show_progress: bool, world_model: Any = None,
                     what: str = "PACE") -> dict[str, float]:
    """``steps`` weighted-BCE steps on the labelled frames of every file, and, given the
    ``world_model``, on the same frames through its autoencoder too
    (``reward_on_reconstructions``); the held-out report on a fifth of the newest file's
    episodes, before and after (on the reconstructions too, ``reward_recon_*``)."""
    from warl.plugins.rewards.success_classifier.train import fit, report

    frames, labels = [], []
    held: list[tuple[str, np.ndarray, np.ndarray]] = []
    for n, path in enumerate(paths):
        episodes = Episodes(path, classifier.cfg.camera)
        ids: list[int] = list(range(len(episodes)))
        if n == len(paths) - 1 and len(episodes) > 1:
            ids, val = episodes.split(classifier.cfg.validation, seed)
            held = _domains(episodes, val, world_model)
        for _, f, lab in _domains(episodes, ids, world_model):
            frames.append(f)
            labels.append(lab)
    before = {name: report(classifier, f, lab) for name, f, lab in held}
    fit(classifier, np.concatenate(frames), np.concatenate(labels), show_progress, what,
        steps=steps, seed=seed)
    after = {name: report(classifier, f, lab) for name, f, lab in held}
    return {f"reward_{name}{k}_{when}": float(v)
            for when, reports in (("before", before), ("after", after))
            for name, r in reports.items() for k, v in r.items()
            if k in ("accuracy", "precision", "recall")}


def _domains(episodes: Episodes, ids: list[int], world_model: Any
             ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The labelled frames of episodes ``ids`` as recorded ("") and, given a world model,
    as its autoencoder reconstructs them ("recon_"), with the same labels."""
    from warl.plugins.rewards.success_classifier.train import labelled_frames

    frames, labels = labelled_frames(episodes, ids)
    out = [("", frames, labels)]
    if world_model is not None and len(ids):
        from warl.plugins.world_models.video_wm.pretrain import reconstruct_frames

        states = np.concatenate([episodes.states[i] for i in ids])  # one per frame
        out.append(("recon_", reconstruct_frames(world_model, frames, states), labels))
    return out
