"""World-action model contracts, the built-in warl/wa-small, its cache and its refusals."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import warl
from tests.conftest import SMALL_TASK, SMALL_WA, passed_checks
from warl.core.errors import IncompatibleModelError, MissingCheckpointError
from warl.core.registry import create_registry
from warl.core.world_model import (
    INTERMEDIATE_FEATURE,
    WorldActionModel,
    WorldModel,
    batch_of,
    check_compatible,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "world_models.md"
WORLD_MODEL_IDS = [s.id for s in create_registry().specs("world_model")]


@pytest.mark.parametrize("model_id", WORLD_MODEL_IDS)
def test_every_world_model_passes_warl_check(model_id):
    passed, report = passed_checks(model_id)
    assert {"make", "interface"} <= passed
    # Each role the model claims has its checks passed, not skipped.
    roles = next(r.message for r in report.results if r.name == "interface")
    if "WorldActionModel" in roles:
        assert {"infer_shapes", "frozen", "refuses_bad_input"} <= passed
    if "WorldModel" in roles:
        assert "world_model" in passed


def test_pretraining_lowers_the_action_loss(small_wa):
    first, final = small_wa.metrics["first_losses"], small_wa.metrics["final_losses"]
    assert final["action"] < 0.5 * first["action"], (first, final)
    assert final["recon"] < first["recon"] and final["world"] < first["world"]
    assert (Path(small_wa.checkpoint_path).parent / "losses.png").is_file()


def test_small_model_implements_both_interfaces(small_wa):
    assert isinstance(small_wa, WorldActionModel) and isinstance(small_wa, WorldModel)
    env = warl.make(SMALL_TASK)
    obs, _ = env.reset(seed=0)
    out = small_wa.infer(batch_of(obs), "press the button")
    env.close()
    assert out.ref_actions.shape == (1, small_wa.horizon, 4)
    assert out.latents.shape == (1, *small_wa.latent_shape)
    assert out.features[INTERMEDIATE_FEATURE].shape[0] == 1
    assert float(out.ref_actions.abs().max()) <= 1.0


def test_cache_is_reused_not_retrained(small_wa):
    again = warl.make("warl/wa-small", env=SMALL_TASK, show_progress=False, **SMALL_WA)
    assert again.checkpoint_path == small_wa.checkpoint_path
    assert again.metrics == small_wa.metrics  # read back from the checkpoint
    for key, value in small_wa.state_dict().items():
        assert bool((again.state_dict()[key] == value).all()), key


def test_missing_cache_names_the_command_that_fills_it():
    with pytest.raises(MissingCheckpointError, match=r"warl pretrain metaworld/reach"):
        warl.make("warl/wa-small", env="metaworld/reach", train_if_missing=False,
                  obs_mode="state", demos=3)


def test_checkpoint_of_another_env_is_refused(small_wa):
    with pytest.raises(IncompatibleModelError) as err:
        warl.make("warl/wa-small", env="metaworld/reach", checkpoint=small_wa.checkpoint_path)
    message = str(err.value)
    assert SMALL_TASK in message and "metaworld/reach" in message


def test_checkpoint_with_another_config_is_refused(small_wa):
    with pytest.raises(IncompatibleModelError, match=r"horizon: checkpoint 16 vs requested 8"):
        warl.make("warl/wa-small", checkpoint=small_wa.checkpoint_path, horizon=8)


def test_a_file_of_another_format_is_refused(tmp_path):
    import torch

    path = tmp_path / "other.pt"
    torch.save({"format": "someone-else", "weights": torch.zeros(2)}, path)
    with pytest.raises(IncompatibleModelError, match="not a warl/wa-small checkpoint"):
        warl.make("warl/wa-small", checkpoint=str(path))


def test_env_without_the_models_camera_is_refused():
    model = warl.make("warl/wa-small", env="metaworld/reach", pretrained=False)
    env = warl.make("metaworld/reach")  # no cameras
    with pytest.raises(IncompatibleModelError, match=r"rgb_corner.*cameras=\["):
        check_compatible(model, env, "metaworld/reach")
    env.close()


def test_action_size_mismatch_names_both_sides():
    import gymnasium as gym
    from gymnasium import spaces

    model = warl.make("warl/wa-small", env="metaworld/reach", pretrained=False, obs_mode="state")

    class SevenDof(gym.Env):
        observation_space = spaces.Dict({"state": spaces.Box(-1, 1, (39,), np.float32)})
        action_space = spaces.Box(-1, 1, (7,), np.float32)

    with pytest.raises(IncompatibleModelError, match=r"4-D actions.*shape \(7,\)"):
        check_compatible(model, SevenDof(), "metaworld/reach")


def test_unbatched_observation_is_refused_not_reshaped():
    model = warl.make("warl/wa-small", env="metaworld/reach", pretrained=False, obs_mode="state")
    with pytest.raises(IncompatibleModelError, match=r"batch of shape \(B, 39\), got \(39,\)"):
        model.infer({"state": np.zeros(39, np.float32)})


def test_documented_checkpoint_adapter_runs(small_wa):
    """The adapter example of docs/world_models.md, on a checkpoint this test suite made."""
    code = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)[-1]
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)
    adapter = namespace["CheckpointWAAdapter"](str(small_wa.checkpoint_path), SMALL_TASK)
    assert isinstance(adapter, WorldActionModel)
    report_obs = {"state": np.zeros((2, 39), np.float32)}
    out = adapter.infer(report_obs)
    assert out.ref_actions.shape == (2, 16, 4) and out.latents.shape == (2, 8, 32)
    with pytest.raises(IncompatibleModelError, match="trained for"):
        namespace["CheckpointWAAdapter"](str(small_wa.checkpoint_path), "metaworld/reach")
