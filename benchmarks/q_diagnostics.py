"""How much the critic of a chunk-level TD3 run (HALO-WA, RL-token) steers its actor.

Loads a `warl train` run folder's last checkpoint (algorithm and replay) and measures, on a
sample of online transitions:

- Q of the executed chunk on successful and on failed trajectories, and its spread over
  states: has the critic learned which states lead to success?
- the spread of Q when the executed chunk is perturbed (Gaussian, ``--perturbation``): does
  it depend on the action at all?
- the RMS per element of dQ_1/da at the actor's chunk against that of the BC term's gradient
  (lambda_BC * 2 (pi - a_ref) / (C A)): which of the two drives the actor's update?

    python benchmarks/q_diagnostics.py RUN_DIR [--samples 2048] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import torch

from warl.core.registry import default_registry
from warl.core.runs import write_json
from warl.core.training.config import make_train_config
from warl.core.training.run import assemble_request, read_request
from warl.core.training.session import Session


def diagnostics(session: Session, samples: int, perturbation: float) -> dict[str, float]:
    algorithm = session.algorithm
    learner, config = algorithm.learner, algorithm.config
    batch = session.replay.online.sample(samples).to(learner.device)
    obs = learner.inputs(batch["obs"])
    success = batch["success"].reshape(-1).bool()
    executed = batch["action"].float()
    with torch.no_grad():
        q_executed, _ = learner.critic(*obs, executed)
        perturbed = torch.stack([
            learner.critic(*obs, (executed + perturbation * torch.randn_like(executed))
                           .clamp(-1.0, 1.0))[0] for _ in range(8)])
    chunk = learner.actor(*obs).detach().requires_grad_(True)
    q_actor, _ = learner.critic(*obs, chunk)
    (q_gradient,) = torch.autograd.grad(q_actor.sum(), chunk)
    deviation = chunk.detach() - learner.bc_target(batch)
    bc_gradient = 2.0 * config.bc_coef * deviation / deviation[0].numel()
    return {
        "transitions": float(len(session.replay.online)),
        "success_share": float(success.float().mean()),
        "q_success": float(q_executed[success].mean()) if success.any() else float("nan"),
        "q_failure": float(q_executed[~success].mean()) if (~success).any() else float("nan"),
        "q_spread_over_states": float(q_executed.std()),
        "q_spread_over_actions": float(perturbed.std(0).mean()),
        "dq_da_rms": float(q_gradient.pow(2).mean().sqrt()),
        "bc_gradient_rms": float(bc_gradient.pow(2).mean().sqrt()),
        "actor_to_reference_rms": float(
            (chunk.detach() - batch["obs", "reference"].float()).pow(2).mean().sqrt()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--perturbation", type=float, default=0.2)
    parser.add_argument("--out", type=Path, help="also write the numbers as JSON")
    args = parser.parse_args()
    torch.manual_seed(0)
    request, registry = read_request(args.run_dir), default_registry()
    setup = assemble_request(request, registry, render=False, show_progress=False)
    if not hasattr(setup.algorithm, "learner"):
        raise SystemExit(f"{request['algo']} has no chunk-level TD3 learner to diagnose")
    with tempfile.TemporaryDirectory() as scratch:
        # The run folder is only read: the session's scratch buffers go elsewhere.
        session = Session(setup, make_train_config(request["settings"]["train"]),
                          Path(scratch), registry, show_progress=False)
        session.run_dir = args.run_dir
        session.resume()
        result = diagnostics(session, args.samples, args.perturbation)
    setup.close()
    for key, value in result.items():
        print(f"{key}: {value:.4f}")
    if args.out:
        write_json(args.out, {"run_dir": str(args.run_dir), **result})


if __name__ == "__main__":
    main()
