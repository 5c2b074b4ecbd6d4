"""WAM-RL (`wam-rl`) and its actor-only baseline pi_RL (`pi-rl`): the Flow-SDE policy gradient
of a WA model's flow-matching head; WAM-RL adds reconstruction rewards and online video SFT
of the joint model's world model."""
