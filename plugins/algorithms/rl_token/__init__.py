"""RL-token: TD3 + BC-to-reference on one compact token of the WA latents (a baseline)."""
