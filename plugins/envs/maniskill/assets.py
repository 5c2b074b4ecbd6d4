"""ManiSkill's downloadable assets: refuse a task whose assets are missing with one clear line,
instead of ManiSkill's interactive download prompt (which fails without a terminal)."""

from __future__ import annotations

import inspect

from warl.core.errors import ConfigError


def missing_assets(group: str) -> list[str]:
    """The data sources of ManiSkill data group ``group`` (a task or robot uid) not on disk."""
    from mani_skill.utils.assets import data

    if group not in data.DATA_GROUPS:
        return []
    sources = data.expand_data_group_into_individual_data_source_ids(group)
    return sorted(s for s in sources if not data.is_data_source_downloaded(s))


def require_assets(task: str, robot: str | None) -> None:
    """Raise `ConfigError` if ``task`` (or its robot) needs assets that are not downloaded."""
    from mani_skill.utils.registration import REGISTERED_ENVS

    robot = robot or default_robot(REGISTERED_ENVS[task].cls)
    groups = [task] + ([robot] if robot else [])
    missing = sorted({s for g in groups for s in missing_assets(g)})
    if missing:
        more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        listed = ", ".join(missing[:4]) + more
        raise assets_error(task, listed)


def assets_error(task: str, what: str) -> ConfigError:
    return ConfigError(
        f"{task} needs ManiSkill assets that are not on this machine ({what}); run "
        f"`python -m mani_skill.utils.download_asset {task}` where the network allows "
        f"(docs/envs.md lists the tasks that run without downloads)")


def default_robot(cls: type) -> str | None:
    """The ``robot_uids`` default of a task class's constructor, when it is a plain uid."""
    parameter = inspect.signature(cls).parameters.get("robot_uids")
    default = None if parameter is None else parameter.default
    return default if isinstance(default, str) else None
