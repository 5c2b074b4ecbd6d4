"""`warl/wam-small`: a joint world-action model whose actor reads its video generator's
features (WAM-RL's premise, after Genie Envisioner-ACT)."""
