"""An env's registered main camera fills in a model's camera when its settings name none."""

import pytest

from warl.core.envs.cameras import main_camera, with_main_camera
from warl.core.errors import SpecError
from warl.core.spec import PluginSpec
from warl.plugins.world_models.wa_small.config import WASmallConfig


def test_each_family_registers_its_main_camera():
    assert main_camera("metaworld/reach") == "corner"
    assert main_camera("maniskill/PickCube-v1") == "base_camera"
    assert main_camera("maniskill/MS-AntRun-v1") == "side_cam"
    assert main_camera("robosuite/Lift") == "agentview"
    assert main_camera("aloha/insertion") == "top"
    assert main_camera("nowhere/else") is None


def test_a_setting_given_wins_and_the_form_follows_the_key():
    assert with_main_camera({}, "maniskill/PickCube-v1") == {"cameras": ["base_camera"]}
    assert with_main_camera({}, "robosuite/Lift", "camera") == {"camera": "agentview"}
    given = {"cameras": ["hand_camera"]}
    assert with_main_camera(given, "maniskill/PickCube-v1") == given
    assert with_main_camera({"demos": 3}, "remote/anything") == {"demos": 3}


def test_metaworld_models_keep_their_cache_key():
    """The filled-in config equals the old default one, so cached checkpoints still load."""
    filled = WASmallConfig.from_dict(with_main_camera({}, "metaworld/hammer")).to_dict()
    assert filled == WASmallConfig().to_dict()


def test_camera_is_for_envs_only():
    with pytest.raises(SpecError, match="camera"):
        PluginSpec(id="warl/x", kind="world_model", target="a.b:c", camera="corner")
