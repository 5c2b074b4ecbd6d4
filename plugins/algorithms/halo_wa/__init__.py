"""``halo-wa``: hybrid-attention latent-guided online RL on a frozen WA model."""
