"""World-model quality metrics on hand-made frames, and imagination along an episode."""

from __future__ import annotations

import numpy as np
import pytest

from warl.core.wm_quality import horizon_table, imagine, psnr, ssim


def frames(t: int, seed: int = 0) -> np.ndarray:
    """Smooth frames with a moving bright square."""
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 200, 64)[None, :, None].repeat(64, 0).repeat(3, 2)
    out = np.repeat(base[None], t, axis=0) + rng.normal(0, 2, (t, 64, 64, 3))
    for i in range(t):
        out[i, 20:30, 5 + 3 * i:15 + 3 * i] = 255
    return np.clip(out, 0, 255).astype(np.uint8)


def test_psnr_is_exact_on_a_known_error():
    a = np.full((2, 8, 8, 3), 100, np.uint8)
    assert np.allclose(psnr(a, a + 5), 10 * np.log10(255**2 / 25))
    assert np.all(psnr(a, a) == 100.0)


def test_ssim_is_one_on_itself_and_falls_with_noise():
    real = frames(3)
    rng = np.random.default_rng(1)
    values = [ssim(real, np.clip(real + rng.normal(0, s, real.shape), 0, 255).astype(np.uint8)
                   ).mean() for s in (0, 5, 20, 60)]
    assert values[0] == pytest.approx(1.0)
    assert values[0] > values[1] > values[2] > values[3] > 0


def test_the_copy_baseline_loses_to_a_perfect_prediction_and_horizons_nest():
    real = [frames(20)]
    perfect = [real[0][1:]]
    table = horizon_table(real, perfect, [4, 19])
    assert table["4"]["psnr"] == 100.0 and table["4"]["ssim"] == pytest.approx(1.0)
    assert table["19"]["copy_psnr"] < table["4"]["copy_psnr"] < 100.0  # the square moves away
    assert table["4"]["frames"] == 4 and table["19"]["frames"] == 19


def test_imagination_gives_one_frame_per_action():
    from warl.plugins.world_models.video_wm.config import make_config
    from warl.plugins.world_models.video_wm.model import VideoWorldModel

    model = VideoWorldModel(make_config({"latent_dim": 4, "width": 32, "depth": 1, "heads": 2,
                                         "context": 2, "chunk": 4, "future": 4,
                                         "sampling_steps": 2}), "test/env", 5, 3)
    first = {"rgb_corner": frames(2), "state": np.zeros((2, 5), np.float32)}
    out = imagine(model, first, np.zeros((2, 10, 3), np.float32))
    assert out["rgb_corner"].shape == (2, 10, 64, 64, 3) and out["state"].shape == (2, 10, 5)
    again = imagine(model, first, np.zeros((2, 10, 3), np.float32))
    assert np.array_equal(out["rgb_corner"], again["rgb_corner"])  # seeded
    model.prediction_steps = 2
    with pytest.raises(ValueError, match="one predicted frame per action"):
        imagine(model, first, np.zeros((2, 10, 3), np.float32))


def test_wm_eval_writes_the_table_and_side_by_side_videos(tmp_path, capsys):
    import json

    from warl.core.cli import main

    sets = ["policy=expert", "rollouts=3", "autoencoder_steps=20", "dynamics_steps=20",
            "width=32", "depth=1", "heads=2", "batch_size=4"]
    argv = ["wm-eval", "metaworld/reach", "--episodes", "2", "--horizons", "8,16",
            "--videos", "1", "--control-trials", "3", "--out", str(tmp_path / "eval"),
            "--quiet"]
    for item in sets:
        argv += ["--set", item]
    assert main(argv) == 0
    report = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert report["episodes"] == 2 and set(report["horizons"]) == {"8", "16"}
    assert report["horizons"]["8"]["frames"] == 16  # 2 episodes x 8 frames
    control = report["controllability"]
    assert control["trials"] == 3 and -1.0 <= control["mean_cosine"] <= 1.0
    assert (tmp_path / "eval" / "videos" / "real_vs_imagined_0.mp4").stat().st_size > 0
    assert "| 16 |" in capsys.readouterr().out
    assert main(["wm-eval", "metaworld/reach", "--horizons", "8,x"]) == 1
    assert "--horizons '8,x'" in capsys.readouterr().err
