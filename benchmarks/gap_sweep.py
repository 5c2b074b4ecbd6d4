"""Size a task's calibration-offset deployment gap: WA-base's success against the bias's size.

A precision gap is useful when WA-base lands at 20-70%: competent, with room for online RL
(docs/deployment_gap.md). This runs ``warl eval wa-base`` once per size, along one bias
direction with a fixed yaw, on one seed list, and writes the curve to
``benchmarks/results/gap_sweep__<env>.json``. Choose the size on this list and confirm it on
another (``warl eval ... --seed 1``) before writing it into ``registry.yaml``.

    python benchmarks/gap_sweep.py --env maniskill/PickCube-v1 --sizes 0 0.05 0.1 0.2 \\
        --trials 30 --wa-set obs_mode=state

The WA model is pretrained once (the first call fills the cache) in lab conditions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def gap_for(size: float, direction: list[float], yaw_deg: float, dims: list[int] | None
            ) -> dict[str, object]:
    """The calibration gap of one size: ``size`` times the unit ``direction`` (none at 0: the
    lab conditions)."""
    if not size:
        return {}
    unit = np.asarray(direction, float) / np.linalg.norm(direction)
    calibration: dict[str, object] = {"bias": [round(float(v), 5) for v in size * unit],
                                      "yaw_deg": yaw_deg}
    if dims is not None:
        calibration["dims"] = dims
    return {"calibration": calibration}


def evaluate(env: str, gap: dict[str, object], trials: int, seed: int, wa_sets: list[str]
             ) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "warl.core.cli", "eval", "wa-base", "--env", env,
                   "--gap", json.dumps(gap) if gap else "none", "--trials", str(trials),
                   "--seed", str(seed), "--out", out, "--quiet"]
        for setting in wa_sets:
            command += ["--wa-set", setting]
        subprocess.run(command, check=True)
        return dict(json.loads((Path(out) / "results.json").read_text()))


def merged(path: Path, args: argparse.Namespace, rows: list[dict[str, object]]
           ) -> dict[str, object]:
    """The sweep's file with these rows added: a finer sweep after a coarse one keeps both
    (a row per size and trial count; the newer wins), if it is of the same model, seed list,
    direction and yaw."""
    key = {"env": args.env, "seed": args.seed, "wa_sets": args.wa_sets,
           "direction": args.direction, "yaw_deg": args.yaw_deg, "dims": args.dims}
    old: list[dict[str, object]] = []
    if path.is_file():
        data = json.loads(path.read_text())
        if {k: data.get(k) for k in key} == key:
            old = data["rows"]
    for row in rows:
        row["trials"] = args.trials
    fresh = {(r["size"], r["trials"]) for r in rows}
    kept = [r for r in old if (r["size"], r.get("trials")) not in fresh]
    return {**key, "rows": sorted(kept + rows, key=lambda r: (r["size"], r["trials"]))}  # type: ignore[arg-type,return-value]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", required=True)
    p.add_argument("--sizes", type=float, nargs="+", required=True,
                   help="the bias's length, in action units")
    p.add_argument("--direction", type=float, nargs="+", default=[0.8, -0.6, 0.0],
                   help="the bias direction, one value per dim [0.8 -0.6 0]")
    p.add_argument("--yaw-deg", type=float, default=3.0)
    p.add_argument("--dims", type=int, nargs="+", default=None,
                   help="the action dims the offset acts on [0 1 2]; joint indices for a "
                        "joint-space offset (then use --yaw-deg 0)")
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--seed", type=int, default=0, help="the seed list")
    p.add_argument("--wa-set", action="append", default=[], dest="wa_sets")
    args = p.parse_args(argv)
    if args.dims is not None and len(args.dims) != len(args.direction):
        p.error(f"--dims has {len(args.dims)} values and --direction {len(args.direction)}; "
                "give one direction value per dim")
    rows = []
    for size in args.sizes:
        gap = gap_for(size, args.direction, args.yaw_deg, args.dims)
        result = evaluate(args.env, gap, args.trials, args.seed, args.wa_sets)
        rows.append({"size": size, "gap": gap, "success_rate": result["success_rate"],
                     "ci95": result["success_rate_ci95"],
                     "mean_episode_length": result["mean_episode_length"],
                     "wall_time_s": result["wall_time_s"]})
        low, high = result["success_rate_ci95"]  # type: ignore[misc]
        print(f"size {size:g}: SR {100 * float(result['success_rate']):.0f}% "  # type: ignore[arg-type]
              f"({100 * low:.0f}-{100 * high:.0f}), EL {result['mean_episode_length']:.1f}",
              flush=True)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"gap_sweep__{args.env.replace('/', '_')}.json"
    path.write_text(json.dumps(merged(path, args, rows), indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
