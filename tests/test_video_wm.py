"""`warl/video-wm`'s parts on tiny sizes: the codec, the context convention, the ablation
switches, the losses that training lowers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from warl.core.errors import ConfigError
from warl.plugins.world_models.video_wm.config import make_config
from warl.plugins.world_models.video_wm.model import VideoWorldModel

TINY = {"latent_dim": 4, "patch": 2, "width": 32, "depth": 1, "heads": 2, "context": 2,
        "chunk": 4, "future": 4, "sampling_steps": 3}


def model(**settings):
    return VideoWorldModel(make_config({**TINY, **settings}), "test/env", state_dim=5,
                           action_dim=3)


def observations(b: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"rgb_corner": rng.integers(0, 256, (b, 64, 64, 3), dtype=np.uint8),
            "state": rng.normal(size=(b, 5)).astype(np.float32)}


def test_frames_become_tokens_and_the_state_comes_back_exactly():
    wm, rng = model(), np.random.default_rng(0)
    obs = observations(3, rng)
    wm.codec.set_state_normalization(rng.normal(2.0, 3.0, size=(50, 5)))
    latents = wm.encode(obs)
    # 16 image tokens (8x8 grid, 2x2 patches) of width 16, then one state token.
    assert latents.shape == (3, 17, 16) and wm.latent_shape == (17, 16)
    decoded = wm.decode(latents)
    image = decoded["rgb_corner"]
    assert image.shape == (3, 64, 64, 3) and image.dtype == torch.uint8
    assert torch.allclose(decoded["state"], torch.as_tensor(obs["state"]), atol=1e-5)


def test_context_is_anchored_and_left_padded():
    wm = model()
    frames = torch.arange(4.0).view(1, 4, 1, 1).expand(1, 4, 17, 16)
    anchor, recent = wm.split_context(frames[:, :1])  # an episode's start: o_0 only
    assert torch.equal(anchor, frames[:, :1]) and torch.equal(recent, frames[:, [0, 0]])
    anchor, recent = wm.split_context(frames)  # o_0, then history 1..3: the last 2
    assert torch.equal(anchor, frames[:, :1]) and torch.equal(recent, frames[:, [2, 3]])
    anchor, recent = model(anchor=False).split_context(frames)
    assert anchor is None and torch.equal(recent, frames[:, [2, 3]])
    with pytest.raises(ValueError, match=r"context must be \(B, T, 17, 16\)"):
        wm.split_context(frames[:, :, :5])


def test_prediction_and_rollout_shapes_and_seeded_sampling():
    wm = model()
    context = torch.randn(2, 3, 17, 16)
    actions = torch.rand(2, 4, 3) * 2 - 1
    wm.seed(7)
    first = wm.predict(context, actions)
    wm.seed(7)
    assert first.shape == (2, 4, 17, 16) and torch.equal(first, wm.predict(context, actions))
    frames = wm.rollout(context[:, 0], torch.rand(2, 3, 4, 3))
    assert frames.shape == (2, 1 + 3 * 4, 17, 16)
    with pytest.raises(ValueError, match=r"actions must be \(B, 4, 3\)"):
        wm.predict(context, torch.rand(2, 8, 3))


@pytest.mark.parametrize("switches", [{}, {"anchor": False}, {"noisy_context": False},
                                      {"context": 1}])
def test_training_lowers_both_losses_with_every_ablation_switch(switches):
    torch.manual_seed(0)
    wm = model(lr=3e-3, **switches)
    images = torch.rand(8, 3, 64, 64)
    ae = [wm.train_step({"images": images})["recon"] for _ in range(30)]
    assert ae[-1] < ae[0]
    # A future the context and actions determine: the last frame, shifted by each action.
    context, actions = torch.randn(8, 3, 17, 16), torch.rand(8, 4, 3)
    future = context[:, -1:] + actions[:, :, :1, None]
    batch = {"context": context, "future": future, "actions": actions}
    flow = [wm.train_step(batch)["flow"] for _ in range(150)]
    assert np.mean(flow[-10:]) < 0.8 * np.mean(flow[:10])


def test_bad_settings_are_one_clear_error():
    with pytest.raises(ConfigError, match=r"future \(9\) cannot exceed chunk"):
        make_config({"future": 9, "chunk": 8})
    with pytest.raises(ConfigError, match="patch must divide"):
        make_config({"patch": 3})
    with pytest.raises(ConfigError, match="preset 'gpu'"):
        make_config({}, preset="gpu")
    with pytest.raises(ConfigError, match="contex"):
        make_config({"contex": 4})


def test_pretraining_records_rollouts_trains_both_stages_and_caches(warl_cache):
    import warl
    from warl.core.errors import IncompatibleModelError
    from warl.plugins.world_models.video_wm.factory import from_checkpoint

    settings = {**TINY, "rollouts": 3, "autoencoder_steps": 50, "dynamics_steps": 50,
                "batch_size": 4}
    wm = warl.make("warl/video-wm", env="metaworld/reach", policy="expert", action_noise=0.5,
                   show_progress=False, **settings)
    metrics = wm.metrics
    assert metrics["rollouts"] == 3 and metrics["validation_episodes"] == 1
    assert metrics["final_losses"]["flow"] > 0 and "copy_last_mse" in metrics["final_losses"]
    assert (wm.checkpoint_path.parent / "losses.png").is_file()
    again = warl.make("warl/video-wm", env="metaworld/reach", policy="expert",
                      action_noise=0.5, show_progress=False, **settings)
    assert again.checkpoint_path == wm.checkpoint_path  # from the cache, not retrained
    for name, value in wm.state_dict().items():
        assert torch.equal(value, again.state_dict()[name]), name
    with pytest.raises(IncompatibleModelError, match="trained for 'metaworld/reach'"):
        from_checkpoint(wm.checkpoint_path, "metaworld/hammer")


def test_the_command_refuses_a_misspelt_setting_before_any_work(capsys):
    from warl.core.cli import main

    assert main(["pretrain-world-model", "metaworld/reach", "--set", "contxt=3"]) == 1
    err = capsys.readouterr().err
    assert "did you mean 'context'" in err and err.count("\n") == 1


def test_the_residual_target_is_the_scaled_change_from_the_last_context_frame():
    wm = model()
    context, future = torch.randn(4, 3, 17, 16), torch.randn(4, 4, 17, 16)
    assert wm.measure_delta_scale({"context": context, "future": future}) > 0
    _, recent = wm.split_context(context)
    target = wm._to_target(future, recent)
    assert torch.allclose(wm._from_target(target, recent), future, atol=1e-5)
    assert target.std().item() == pytest.approx(1.0, rel=1e-3)
    plain = model(residual=False)
    assert torch.equal(plain._to_target(future, recent), future)


def test_a_ci_sized_world_model_beats_copying_and_follows_the_actions(warl_cache):
    """20 noisy expert rollouts of reach, 300 autoencoder and 1,500 dynamics steps of a narrow
    model (about a minute on one core). Measured: held-out one-chunk latent MSE 0.0138 against
    copying the last frame's 0.0164; controllability (the cosine between the imagined and the
    real state change under opposite chunks, `core/wm_quality.controllability`) 0.43, with all
    8 trials agreeing in sign."""
    import warl
    from warl.core.wm_quality import controllability

    wm = warl.make("warl/video-wm", env="metaworld/reach", policy="expert", action_noise=0.5,
                   show_progress=False, width=32, depth=1, heads=2, rollouts=20,
                   autoencoder_steps=300, dynamics_steps=1500, batch_size=8)
    final = wm.metrics["final_losses"]
    assert final["val_mse"] < final["copy_last_mse"], final
    control = controllability(wm, "metaworld/reach", trials=8)
    assert control["mean_cosine"] > 0.2 and control["agreeing"] >= 0.75, control
