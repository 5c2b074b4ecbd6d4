"""HALO-WA's adapter networks: output shapes of every table-2 ablation, paper sizes."""

from __future__ import annotations

import pytest
import torch

from warl.plugins.algorithms.halo_wa.networks import FUSIONS, HaloActor, HaloCritic

B, S, A, C, N, D = 3, 39, 4, 12, 72, 32
SMALL = {"hidden": 64, "heads": 4}


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("latents", [True, False], ids=["latent", "no-latent"])
def test_every_ablation_gives_a_bounded_chunk_and_twin_q(fusion, latents):
    shape = (N, D) if latents else None
    actor = HaloActor(S, A, C, shape, decoder=(128, 64), fusion=fusion, **SMALL)
    critic = HaloCritic(S, A, C, shape, q_head=(128, 64), fusion=fusion, **SMALL)
    state, reference = torch.randn(B, S), torch.rand(B, C, A) * 2 - 1
    z = torch.randn(B, N, D) if latents else None
    chunk = actor(state, reference, z)
    assert chunk.shape == (B, C, A) and float(chunk.abs().max()) <= 1.0
    q1, q2 = critic(state, reference, z, chunk)
    assert q1.shape == q2.shape == (B,) and not torch.equal(q1, q2)
    (q1.mean() + chunk.mean()).backward()  # gradients reach both networks
    assert actor.decode[0].weight.grad is not None


def test_latents_change_the_output_only_when_read():
    state, reference = torch.randn(1, S), torch.zeros(1, C, A)
    reader = HaloActor(S, A, C, (N, D), **SMALL)
    a, b = reader(state, reference, torch.randn(1, N, D)), reader(state, reference,
                                                                   torch.randn(1, N, D))
    assert not torch.allclose(a, b)
    blind = HaloActor(S, A, C, None, **SMALL)
    assert torch.equal(blind(state, reference, None),
                       blind(state, reference, torch.randn(1, N, D)))


def test_paper_sizes_build():
    actor = HaloActor(14, 14, 12, (256, 16))
    critic = HaloCritic(14, 14, 12, (256, 16))
    assert actor.decode[0].in_features == 512 and actor.decode[-1].out_features == 14
    widths = [m.out_features for m in critic.q1 if isinstance(m, torch.nn.Linear)]
    assert widths == [2048, 1024, 512, 1]


def test_unknown_fusion_is_named():
    with pytest.raises(ValueError, match="fusion must be one of"):
        HaloActor(S, A, C, (N, D), fusion="film", **SMALL)
