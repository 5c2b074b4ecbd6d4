"""Replay storage: bytes per stored chunk transition, before and after, measured in one run.

HALO-WA's RL state (``cpu`` preset, the pretrained default WA model, state + rgb camera) for
``--episodes`` collected episodes, stored three ways on TorchRL memmap storage:
1. the 0.2 layout: ``obs`` and ``next`` per transition, float32 (`make_buffer`);
2. `ChunkReplay` in float32: each state once, next states read from the following row;
3. `ChunkReplay` in float16 (the default).
Bytes are the saved buffers' files on disk. Also reported: float16's rounding error on the
WA latents against the WA model's own posterior standard deviation for the same inputs.

    python benchmarks/storage.py [--env metaworld/peg-insert-side] [--episodes 6]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import torch
from halo_wa import make_trainer  # the script's own folder is on sys.path

from warl.core.chunk_replay import ChunkReplay
from warl.core.replay import make_buffer, save_buffer
from warl.core.runs import write_json
from warl.core.training.transitions import to_tensordict


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def latent_rounding(session: object, data: object) -> dict[str, float]:
    """float16's relative rounding of the stored latents, and the WA posterior's std in the
    same units (the encoder's own uncertainty about each latent)."""
    memory = data["obs", "memory"].float()  # type: ignore[index]
    rounding = (memory.half().float() - memory).abs()
    wa = session.wa_model  # type: ignore[attr-defined]
    obs, _ = session.env.reset(seed=0)  # type: ignore[attr-defined]
    with torch.no_grad():
        x = wa.prepare({k: torch.as_tensor(v)[None] for k, v in obs.items()})
        _, logvar, _ = wa._moments(x)
    std = (0.5 * logvar).exp()
    return {"max_abs_rounding": float(rounding.max()),
            "mean_abs_rounding": float(rounding.mean()),
            "median_posterior_std": float(std.median()),
            "min_posterior_std": float(std.min())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="metaworld/peg-insert-side")
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--untrained", action="store_true",
                        help="the untrained WA model (default: the pretrained one, cached "
                        "after the first run, whose posterior std is the one that matters)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/storage.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        session = make_trainer(args.env, "cpu", False, 60.0, not args.untrained, root / "run",
                               threads=1)
        state = session.rollout_state()
        records = [session.collector.episode(state, seed).record
                   for seed in range(args.episodes)]
        data = to_tensordict(records)
        n = len(data)
        sizes: dict[str, int] = {}
        old = make_buffer(n, root / "old")
        old.extend(data)
        save_buffer(old, root / "saved_old")
        sizes["obs_and_next_float32"] = folder_bytes(root / "saved_old")
        for precision in ("float32", "float16"):
            lean = ChunkReplay(2 * n, root / precision, precision)
            for record in records:
                lean.extend(to_tensordict([record]))
            assert len(lean) == n
            lean.save(root / f"saved_{precision}")
            sizes[f"chunk_replay_{precision}"] = folder_bytes(root / f"saved_{precision}")
        results = {
            "env": args.env, "episodes": args.episodes, "transitions": n,
            "wa_model": "untrained" if args.untrained else "pretrained",
            "bytes_per_transition": {k: v / n for k, v in sizes.items()},
            "ratio_to_0.2": {k: v / sizes["obs_and_next_float32"] for k, v in sizes.items()},
            "state_fields": {k: list(v.shape[1:]) for k, v in data["obs"].items()},
        }
        if "memory" in data["obs"].keys():  # noqa: SIM118 (a TensorDict)
            results["float16_latents"] = latent_rounding(session, data)
    write_json(args.out, results)
    for key, value in results["bytes_per_transition"].items():  # type: ignore[attr-defined]
        print(f"{key:24s} {value:9.0f} bytes/transition")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
