"""ManiSkill3 tasks (SAPIEN physics and rendering) as warl envs: ``maniskill/<Task-v1>``."""
