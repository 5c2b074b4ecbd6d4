"""LPIPS, FloLPIPS, FID and FVD through their real loading code, on small weight files built
here in the layouts the real ones have (no such weights exist on this machine)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.test_wm_quality import frames
from warl.core.errors import ConfigError
from warl.core.wm_features import (
    ALEX_CHANNELS,
    LPIPS,
    AlexFeatures,
    fid,
    flolpips,
    frechet_distance,
    fvd,
    torchscript,
)


class TinyInception(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 5, stride=4)

    def forward(self, x: torch.Tensor, return_features: bool = True) -> torch.Tensor:
        return torch.relu(self.conv(x / 255.0)).mean(dim=(2, 3))


class TinyI3D(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 8, (2, 5, 5), stride=(1, 4, 4))

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = True,
                return_features: bool = True) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3, 4))


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("metric-weights")
    torch.save(AlexFeatures().state_dict(), root / "alexnet.pth")
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) / c
                for i, c in enumerate(ALEX_CHANNELS)}, root / "alex.pth")
    torch.jit.script(TinyInception()).save(str(root / "inception.pt"))
    torch.jit.script(TinyI3D()).save(str(root / "i3d.pt"))
    return root


def test_lpips_is_zero_on_itself_and_grows_with_the_error(weights):
    lpips = LPIPS(weights / "alexnet.pth", weights / "alex.pth")
    real = frames(4)
    rng = np.random.default_rng(0)
    near = np.clip(real + rng.normal(0, 5, real.shape), 0, 255).astype(np.uint8)
    far = np.clip(real + rng.normal(0, 60, real.shape), 0, 255).astype(np.uint8)
    assert np.allclose(lpips.frames(real, real), 0.0, atol=1e-7)
    assert np.all(lpips.frames(real, near) < lpips.frames(real, far))
    assert flolpips(lpips, real, real) == pytest.approx(0.0, abs=1e-7)
    assert flolpips(lpips, real, far) > 0


def test_frechet_distances_vanish_on_the_same_set_and_see_a_shift(weights):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + 1.0) == pytest.approx(4.0, rel=0.05)
    inception = torchscript(weights / "inception.pt", "FID Inception")
    real = frames(24)
    dark = (real // 3).astype(np.uint8)
    assert fid(inception, real, real) == pytest.approx(0.0, abs=1e-6)
    assert fid(inception, real, dark) > 1e-3
    i3d = torchscript(weights / "i3d.pt", "FVD I3D")
    clips = [frames(6, seed=s) for s in range(12)]
    assert fvd(i3d, clips, clips) == pytest.approx(0.0, abs=1e-6)
    assert fvd(i3d, clips, [c // 3 for c in clips]) > 1e-3


def test_a_missing_weights_file_is_one_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=r"alexnet\.pth does not exist"):
        LPIPS(tmp_path / "alexnet.pth", tmp_path / "alex.pth")
    with pytest.raises(ConfigError, match="no weights file given"):
        torchscript(None, "FID Inception")


def test_wm_eval_adds_the_learned_metrics_when_given_weights(weights, tmp_path):
    import json

    from warl.core.cli import main

    argv = ["wm-eval", "metaworld/reach", "--episodes", "2", "--horizons", "16",
            "--videos", "0", "--control-trials", "0", "--out", str(tmp_path), "--quiet",
            "--lpips-backbone", str(weights / "alexnet.pth"),
            "--lpips-linear", str(weights / "alex.pth"),
            "--inception", str(weights / "inception.pt"), "--i3d", str(weights / "i3d.pt")]
    for item in ["policy=expert", "rollouts=3", "autoencoder_steps=20", "dynamics_steps=20",
                 "width=32", "depth=1", "heads=2", "batch_size=4"]:
        argv += ["--set", item]
    assert main(argv) == 0
    row = json.loads((tmp_path / "results.json").read_text())["horizons"]["16"]
    assert {"lpips", "flolpips", "fid", "fvd"} <= set(row)
    assert all(np.isfinite(row[k]) and row[k] >= 0 for k in ("lpips", "flolpips", "fid"))
    assert "| LPIPS | FLOLPIPS | FID | FVD |" in (tmp_path / "results.md").read_text()
    assert main(["wm-eval", "metaworld/reach", "--inception", str(tmp_path / "nope.pt")]) == 1
