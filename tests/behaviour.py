"""CI-sized synchronous runs of every trainable built-in, reduced to what must never change by
accident: each train.csv row's loop columns and losses, the final evaluation's trials and a
fingerprint of the trained weights (each tensor's sum and norm).

Numbers match to a relative 1e-3 (`mismatch`): CPUs with other vector units round float32
sums differently (the last digits of a loss, the last bits of a weight), while a change of
behaviour moves them by far more.

`tests/test_behaviour.py` compares a fresh run with `tests/data/behaviour.json`, recorded by
``python -m tests.behaviour --write`` from the code before the training layer was reorganised
into a `Session` and stock loops; a change that moves any number there is a behaviour change
and must be deliberate (re-record and say why in the commit).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "data" / "behaviour.json"

# One torch thread and the synchronous loop: the only setting where a run is reproducible.
# States are stored in float32 here, as when the golden was recorded (the default float16
# rounds them: a deliberate change, tested in test_chunk_replay.py).
QUICK = {"replay_precision": "float32", "minutes": 0, "demos": 4, "baseline": False,
         "eval_trials": 2, "eval_every": 600,
         "final_trials": 2, "videos": 0, "asynchronous": False, "torch_threads": 1,
         "env_steps": 1100, "checkpoint_every": 100_000}
RUNS: dict[str, dict[str, Any]] = {
    "halo-wa": {"preset": "cpu", "hidden": 32, "heads": 2, "actor_decoder": [64, 32],
                "q_head": [64, 32], "batch_size": 32, "utd": 1, "learning_starts": 32,
                "bc_warmup_steps": 20},
    "rl-token": {"preset": "cpu", "hidden": 32, "token_dim": 16, "token_heads": 2,
                 "token_steps": 30, "token_lr": 1e-3, "batch_size": 32, "utd": 1,
                 "learning_starts": 32, "bc_warmup_steps": 10},
    "pld": {"preset": "cpu", "hidden": 32, "batch_size": 32, "utd": 1, "learning_starts": 32,
            "max_base_chunks": 4, "distill_episodes": 2, "distill_steps": 20},
    "hg-dagger": {"episodes_per_round": 1, "updates_per_round": 20, "batch_size": 32,
                  "bc_warmup_steps": 10, "lr": 1e-3, "gate_threshold": 0.3},
    "sb3/sac": {"learning_starts": 100, "batch_size": 32, "net_arch": [32, 32]},
}
# Columns that are measurements of this machine's speed, not of the algorithm.
TIMING = {"wall_s", "updates_per_s"}
COLUMNS = ("env_steps", "episode", "success", "return", "length", "intervention_rate",
           "transitions", "updates", "achieved_utd", "critic_loss", "actor_loss", "bc", "q")


def fingerprint(algorithm: Any) -> dict[str, Any]:
    """Each tensor of the trained weights the final evaluation acts with: [sum, norm]."""
    import torch

    model = getattr(algorithm, "model", None)
    state = model.policy.state_dict() if model is not None else algorithm.policy_state()
    out: dict[str, Any] = {}
    for key in sorted(state):
        value = state[key]
        if isinstance(value, torch.Tensor):
            t = value.detach().double()
            if key.endswith("in_proj_bias"):
                # An attention's key bias adds the same score to every key, which softmax
                # cancels: its gradient is rounding noise that Adam scales to full steps, so
                # its values differ between CPUs and library builds. Query and value biases
                # carry the behaviour.
                q, _, v = t.chunk(3)
                t = torch.cat([q, v])
            out[key] = [float(t.sum()), float(t.norm())]
        else:
            out[key] = repr(value)
    return out


def mismatch(got: Any, expected: Any, where: str = "", rel: float = 1e-3) -> str | None:
    """Where ``got`` differs from ``expected`` (numbers, numeric strings included, to a
    relative ``rel``), or None."""
    if isinstance(expected, dict) and isinstance(got, dict):
        if sorted(got) != sorted(expected):
            return f"{where}: keys {sorted(got)} != {sorted(expected)}"
        for key in expected:
            found = mismatch(got[key], expected[key], f"{where}.{key}", rel)
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(got, list):
        if len(got) != len(expected):
            return f"{where}: {len(got)} items != {len(expected)}"
        for i, (a, b) in enumerate(zip(got, expected, strict=True)):
            found = mismatch(a, b, f"{where}[{i}]", rel)
            if found:
                return found
        return None
    a, b = _number(got), _number(expected)
    if a is not None and b is not None:
        return None if math.isclose(a, b, rel_tol=rel, abs_tol=1e-6) else \
            f"{where}: {got!r} != {expected!r}"
    return None if got == expected else f"{where}: {got!r} != {expected!r}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def observe(algo: str, run_dir: Path) -> dict[str, Any]:
    """Train ``algo`` CI-sized in ``run_dir`` and reduce the run to its behaviour."""
    from tests.conftest import SMALL_TASK, SMALL_WA
    from warl.core.training.log import read_csv
    from warl.core.training.run import make_request, run_training

    settings = {"algorithm": RUNS[algo], "train": QUICK, "wa": SMALL_WA}
    request = make_request(algo, SMALL_TASK, settings)
    algorithms: list[Any] = []
    _capture_algorithm(algorithms)
    try:
        run_training(request, run_dir, show_progress=False)
    finally:
        _capture_algorithm(None)
    rows = [{k: r.get(k, "") for k in COLUMNS} for r in read_csv(run_dir / "train.csv")]
    finals = {}
    for path in sorted(run_dir.glob("final*.json")):
        data = json.loads(path.read_text())
        finals[path.name] = [[t["seed"], t["success"], t["length"]] for t in data["per_trial"]]
    evals = [{k: r[k] for k in ("env_steps", "updates", "success_rate")}
             for r in read_csv(run_dir / "eval.csv")]
    return {"train": rows, "eval": evals, "final": finals,
            "weights": fingerprint(algorithms[-1])}


def _capture_algorithm(sink: list[Any] | None) -> None:
    """Keep the algorithm each `assemble` builds (the run owns it otherwise)."""
    import warl.core.assemble as assemble_module

    original = getattr(assemble_module, "_behaviour_original", None)
    if sink is None:
        if original is not None:
            assemble_module.assemble = original
            del assemble_module._behaviour_original
        return
    original = assemble_module.assemble
    assemble_module._behaviour_original = original

    def capturing(*args: Any, **kwargs: Any) -> Any:
        setup = original(*args, **kwargs)
        sink.append(setup.algorithm)
        return setup

    assemble_module.assemble = capturing


def main(argv: list[str]) -> int:
    import os
    import tempfile

    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if argv != ["--write"]:
        print("usage: python -m tests.behaviour --write", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as runs:
        os.environ["WARL_CACHE_DIR"] = cache
        out = {algo: observe(algo, Path(runs) / algo.replace("/", "_")) for algo in RUNS}
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
