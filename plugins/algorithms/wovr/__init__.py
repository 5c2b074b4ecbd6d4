"""WoVR: policy optimisation in a learned world model with masked GRPO, keyframe-initialized
rollouts (KIR) and policy-aligned co-evolution (PACE)."""
