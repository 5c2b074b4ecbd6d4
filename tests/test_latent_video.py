"""Latent video parts: AdaLN-Zero blocks, cross-attention, rectified flow and its sampler."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from warl.plugins.world_models.latent_video.blocks import (
    DiTBlock,
    FinalLayer,
    VideoTokens,
    timestep_embedding,
)
from warl.plugins.world_models.latent_video.flow import flow_loss, interpolate, sample


def test_a_fresh_block_is_the_identity_and_conditioning_acts_once_trained():
    torch.manual_seed(0)
    block = DiTBlock(16, 2, cond_dim=8, cross_dim=4)
    x, cond, context = torch.randn(3, 10, 16), torch.randn(3, 8), torch.randn(3, 5, 4)
    assert torch.equal(block(x, cond, context), x)  # AdaLN-Zero: gates and projections at 0
    optimizer = torch.optim.Adam(block.parameters(), lr=1e-2)
    for _ in range(5):
        optimizer.zero_grad()
        (block(x, cond, context) - 1.0).pow(2).mean().backward()
        optimizer.step()
    out = block(x, cond, context)
    assert not torch.allclose(out, x)
    assert not torch.allclose(out, block(x, torch.randn(3, 8), context))  # reads cond
    assert not torch.allclose(out, block(x, cond, torch.randn(3, 5, 4)))  # reads context
    with pytest.raises(ValueError, match="give it context"):
        block(x, cond)


def test_video_tokens_keep_frames_apart_and_refuse_bad_shapes():
    tokens = VideoTokens(latent_dim=6, width=16, tokens=4, max_frames=3)
    frames = torch.randn(2, 3, 4, 6)
    h = tokens(frames)
    assert h.shape == (2, 12, 16) and tokens.frames(h, 3).shape == (2, 3, 4, 16)
    with pytest.raises(ValueError, match="at most 3 frames of 4 tokens"):
        tokens(torch.randn(2, 4, 4, 6))
    assert timestep_embedding(torch.rand(5), 7).shape == (5, 7)


def test_the_sampler_reaches_the_target_with_the_exact_velocity():
    # For a single target c the exact velocity is (c - x) / (1 - t): a few Euler steps land
    # on c exactly, from any noise.
    c = torch.tensor([[2.0, -1.0, 0.5]])

    def velocity(x, t):
        return (c - x) / (1 - t[:, None])

    out = sample(velocity, torch.randn(4, 3), steps=5)
    assert torch.allclose(out, c.expand(4, 3), atol=1e-5)
    # A network that predicts the data (x_1) takes the same path: the sampler turns it into
    # that velocity.
    out = sample(lambda x, t: c.expand_as(x), torch.randn(4, 3), steps=3, prediction="data")
    assert torch.allclose(out, c.expand(4, 3), atol=1e-5)
    x0, x1 = torch.zeros(2, 3), torch.ones(2, 3)
    assert torch.allclose(interpolate(x0, x1, torch.tensor([0.25, 1.0])),
                          torch.tensor([[0.25] * 3, [1.0] * 3]))


class TinyVelocity(nn.Module):
    """A one-block DiT over one frame of 4 tokens, conditioned on t and a class."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens = VideoTokens(3, 32, tokens=4, max_frames=1)
        self.label = nn.Embedding(2, 32)
        self.block = DiTBlock(32, 4, cond_dim=32)
        self.final = FinalLayer(32, 32, 3)

    def forward(self, x, t, label):
        cond = timestep_embedding(t, 32) + self.label(label)
        h = self.block(self.tokens(x[:, None]), cond)
        return self.final(h, cond).reshape(x.shape)


def test_the_data_loss_is_zero_for_the_clean_sample_and_names_bad_predictions():
    x1 = torch.randn(8, 4, 3)
    assert flow_loss(lambda x, t: x1, x1, prediction="data").item() == 0.0
    assert flow_loss(lambda x, t: torch.zeros_like(x), x1, prediction="data").item() == \
        pytest.approx(x1.pow(2).mean().item())
    with pytest.raises(ValueError, match="prediction 'noise'"):
        flow_loss(lambda x, t: x, x1, prediction="noise")


@pytest.mark.parametrize("prediction", ["velocity", "data"])
def test_rectified_flow_learns_a_conditional_target(prediction):
    torch.manual_seed(0)
    targets = torch.stack([torch.full((4, 3), 1.0), torch.full((4, 3), -1.0)])
    model = TinyVelocity()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(300):
        label = torch.randint(0, 2, (64,))
        loss = flow_loss(lambda x, t, label=label: model(x, t, label), targets[label],
                         prediction=prediction)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-20:]) / 20 < 0.5 * sum(losses[:20]) / 20
    label = torch.tensor([0, 1] * 8)
    out = sample(lambda x, t: model(x, t, label), torch.randn(16, 4, 3), steps=5,
                 prediction=prediction)
    right = (out - targets[label]).pow(2).mean()
    wrong = (out - targets[1 - label]).pow(2).mean()
    assert right < 0.2 < 2.0 < wrong
