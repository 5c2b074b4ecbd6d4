"""Parts of latent video world models, shared by every world model built here.

- `blocks`: diffusion-transformer blocks over latent video tokens, conditioned by AdaLN-Zero
  (a conditioning vector modulates each block's normalisations and gates its residuals, the
  gates starting at zero so that a fresh block is the identity) with optional
  cross-attention to a sequence of conditioning tokens (WoVR's second action channel).
- `flow`: the rectified-flow objective and its few-step Euler sampler.

The WoVR-style action-conditioned world model and the joint model of WAM-RL are built from
these same parts; the frame autoencoder is the built-in WA model's `ImageVAE`.
"""
