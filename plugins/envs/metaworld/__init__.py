"""MetaWorld v3 (50 Sawyer manipulation tasks on MuJoCo): warl's built-in default simulator.

Nothing heavy is imported here; `MetaWorldEnv` lives in `.env` and imports MuJoCo on use.
"""

from warl.plugins.envs.metaworld.tasks import INSTRUCTIONS, TASKS

__all__ = ["INSTRUCTIONS", "TASKS"]
