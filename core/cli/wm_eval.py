"""``warl wm-eval ENV``: a world model's imagination against the real env, over horizons."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from warl.core.cli.options import run_dir

DESCRIPTION = """Records held-out rollouts in the real env (the world model's rollout policy,
other seeds than its training rollouts), imagines each one from its first frame under the
executed actions, chunk by chunk, and compares imagined and real frames at every step: PSNR
and SSIM over the first H frames for each horizon H, beside the baseline that copies the
first frame; imagined frames per second (all episodes as one batch); side-by-side videos
(real | imagined). The learned metrics of WoVR's table 1 (LPIPS, FID, FVD, FloLPIPS) need
feature-network weights that are not bundled: without them the table reports PSNR and SSIM
and says so. Writes results.json, results.md and videos/ to --out."""

EXAMPLES = """examples:
  warl wm-eval metaworld/hammer --episodes 8 --horizons 32,64,128
  warl wm-eval metaworld/reach --set policy=expert --videos 2
"""


def add_commands(commands: Any) -> None:
    from warl.core.cli.pretraining import add_model_options

    p = commands.add_parser("wm-eval", help="a world model's imagination against the real env",
                            description=DESCRIPTION, epilog=EXAMPLES,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p, "warl/video-wm")
    p.add_argument("--wa-set", dest="wa_sets", action="append", metavar="KEY=VALUE",
                   help="a setting of the WA model whose rollouts it learns from (repeatable)")
    p.add_argument("--episodes", type=int, default=8, help="held-out episodes (default 8)")
    p.add_argument("--horizons", default="32,64,128",
                   help="comma-separated horizons in env steps (paper: 128,256,512)")
    p.add_argument("--videos", type=int, default=2, help="side-by-side videos (default 2)")
    p.add_argument("--control-trials", type=int, default=16,
                   help="opposite-chunk pairs of the controllability check (default 16; 0: "
                   "skip)")
    p.add_argument("--lpips-backbone", metavar="FILE",
                   help="AlexNet weights in torchvision's layout, for LPIPS and FloLPIPS")
    p.add_argument("--lpips-linear", metavar="FILE",
                   help="LPIPS linear layers in the lpips package's layout (alex.pth)")
    p.add_argument("--inception", metavar="FILE",
                   help="Inception TorchScript for FID (clean-fid's inception-2015-12-05.pt)")
    p.add_argument("--i3d", metavar="FILE",
                   help="I3D TorchScript for FVD (StyleGAN-V's i3d_torchscript.pt)")
    p.add_argument("--out", default=None, help="output folder (default runs/wm-eval/...)")
    p.set_defaults(handler=cmd_wm_eval)


def _horizons(text: str) -> list[int]:
    from warl.core.errors import ConfigError

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise ConfigError(f"--horizons {text!r}: give positive integers, e.g. 32,64,128")
    return sorted(set(values))


def cmd_wm_eval(args: argparse.Namespace) -> int:
    from warl.core.errors import ConfigError

    horizons = _horizons(args.horizons)
    if args.episodes < 1:
        raise ConfigError(f"--episodes {args.episodes}: give at least 1")
    from warl.core.cli.world_models import requested

    nets = feature_nets(args)  # a wrong weights path fails before any rollout
    registry, env_spec, spec, settings = requested(args)
    out = Path(args.out) if args.out else run_dir("runs/wm-eval", spec.id, env_spec.id)
    model = registry.make(spec.id, kind="world_model", env=env_spec.id, retrain=args.retrain,
                          show_progress=not args.quiet, **settings)
    report = evaluate(model, env_spec.id, settings, args.episodes, horizons, args.videos, out,
                      not args.quiet, args.control_trials, nets)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print((out / "results.md").read_text(), end="")
    return 0


def feature_nets(args: argparse.Namespace) -> dict[str, Any]:
    """The learned metrics' networks from the files given (none: PSNR and SSIM only)."""
    from warl.core.errors import ConfigError
    from warl.core.wm_features import LPIPS, torchscript

    nets: dict[str, Any] = {}
    if args.lpips_backbone or args.lpips_linear:
        if not (args.lpips_backbone and args.lpips_linear):
            raise ConfigError("LPIPS needs both --lpips-backbone and --lpips-linear")
        nets["lpips"] = LPIPS(args.lpips_backbone, args.lpips_linear)
    if args.inception:
        nets["inception"] = torchscript(args.inception, "FID Inception (--inception)")
    if args.i3d:
        nets["i3d"] = torchscript(args.i3d, "FVD I3D (--i3d)")
    return nets


def evaluate(model: Any, env_id: str, settings: dict[str, Any], episodes: int,
             horizons: list[int], videos: int, out: Path, show_progress: bool,
             control_trials: int = 16, nets: dict[str, Any] | None = None) -> dict[str, Any]:
    import numpy as np

    from warl.core.envs.contract import STATE_KEY
    from warl.core.envs.video import write_mp4
    from warl.core.rollout.recorded import EVAL_SEEDS, Episodes, record_rollouts
    from warl.core.runs import write_json
    from warl.core.wm_quality import controllability, horizon_table, imagine
    from warl.plugins.world_models.video_wm.data import rollout_spec

    spec = rollout_spec(model.cfg, settings.get("policy", "wa-base"),
                        float(settings.get("action_noise", 0.3)), settings.get("wa"),
                        episodes=episodes, first_seed=EVAL_SEEDS)
    path = record_rollouts(env_id, spec, show_progress)
    data = Episodes(path, model.cfg.camera)
    key = model.codec.image_key
    longest = max(len(a) for a in data.actions)
    actions = np.zeros((len(data), longest, data.actions[0].shape[1]), np.float32)
    for i, a in enumerate(data.actions):
        actions[i, :len(a)] = a
    first = {key: np.stack([f[0] for f in data.frames]),
             STATE_KEY: np.stack([s[0] for s in data.states])}
    start = time.perf_counter()
    imagined = imagine(model, first, actions)
    seconds = time.perf_counter() - start
    guesses = [imagined[key][i, :len(a)] for i, a in enumerate(data.actions)]
    table = horizon_table(data.frames, guesses, horizons)
    if nets:
        from warl.core.wm_features import learned_table

        for h, row in learned_table(data.frames, guesses, horizons, **nets).items():
            table[h].update(row)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(min(videos, len(data))):
        real, guess = data.frames[i][1:], guesses[i][:len(data.frames[i]) - 1]
        write_mp4(out / "videos" / f"real_vs_imagined_{i}.mp4",
                  list(np.concatenate([real, guess], axis=2)), fps=20)
    report = {"model": model.config, "env": env_id, "episodes": len(data),
              "episode_lengths": [len(a) for a in data.actions], "rollouts": str(path),
              "imagined_frames_per_s": float(actions.shape[0] * longest / seconds),
              "batch": len(data), "horizons": table,
              "controllability": controllability(model, env_id, control_trials)
              if control_trials > 0 else None,
              "learned_metrics": f"computed: {', '.join(sorted(nets))}" if nets else
              "not computed: LPIPS, FID, FVD and FloLPIPS need feature-network weights that are "
              "not bundled (--lpips-backbone/--lpips-linear, --inception, --i3d)"}
    write_json(out / "results.json", report)
    (out / "results.md").write_text(markdown(report))
    return report


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# {report['model']['id']} on {report['env']}: imagination vs the real env", "",
             f"{report['episodes']} held-out episodes, imagined as one batch at "
             f"{report['imagined_frames_per_s']:.0f} frames/s.", "",
             "| horizon | PSNR | SSIM | copy-first PSNR | copy-first SSIM | frames |",
             "|---|---|---|---|---|---|"]
    extra = [k for k in ("lpips", "flolpips", "fid", "fvd")
             if any(k in row for row in report["horizons"].values())]
    if extra:
        lines[-2] = lines[-2] + "".join(f" {k.upper()} |" for k in extra)
        lines[-1] = lines[-1] + "---|" * len(extra)
    for h, row in report["horizons"].items():
        cells = "".join(f" {row[k]:.3f} |" if k in row else " - |" for k in extra)
        lines.append(f"| {h} | {row['psnr']:.2f} | {row['ssim']:.3f} | {row['copy_psnr']:.2f} "
                     f"| {row['copy_ssim']:.3f} | {row['frames']:.0f} |{cells}")
    control = report.get("controllability")
    if control:
        lines += ["", f"Controllability ({control['trials']} pairs of opposite chunks from the "
                  f"same first frame): mean cosine between imagined and real state change "
                  f"{control['mean_cosine']:.2f}, agreeing in direction "
                  f"{100 * control['agreeing']:.0f}%, imagined/real magnitude "
                  f"{control['magnitude_ratio']:.2f}."]
    lines += ["", f"LPIPS, FloLPIPS, FID, FVD: {report['learned_metrics']}.", ""]
    return "\n".join(lines)
