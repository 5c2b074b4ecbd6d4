"""The results table of a training run, laid out like HALO-WA's table 3 (task, method, SR, EL,
relative change against WA-base)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from warl.core.evaluate import EvalResult


def relative_change(value: float, base: float) -> str:
    if base == 0:
        return "n/a"
    return f"{(value - base) / base:+.1%}"


def comparison_rows(task: str, rows: Sequence[tuple[str, EvalResult]]) -> list[dict[str, Any]]:
    """One row per method; the first is the baseline the others are compared with."""
    base = rows[0][1]
    out = []
    for i, (method, result) in enumerate(rows):
        low, high = result.wilson_interval()
        out.append({
            "task": task, "method": method, "success_rate": result.success_rate,
            "success_rate_ci95": [low, high], "mean_episode_length": result.mean_length,
            "trials": len(result.trials),
            "sr_change": None if i == 0 else result.success_rate - base.success_rate,
            "sr_relative": None if i == 0 else relative_change(result.success_rate,
                                                               base.success_rate),
            "el_relative": None if i == 0 else relative_change(result.mean_length,
                                                               base.mean_length),
        })
    return out


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    lines = ["| task | method | SR (%) ↑ | 95% CI | EL ↓ | trials |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        low, high = r["success_rate_ci95"]
        sr = f"{100 * r['success_rate']:.1f}"
        el = f"{r['mean_episode_length']:.1f}"
        if r["sr_relative"] is not None:
            sr += f" ({r['sr_relative']}; {100 * r['sr_change']:+.1f} pts)"
            el += f" ({r['el_relative']})"
        lines.append(f"| {r['task']} | {r['method']} | {sr} | {100 * low:.0f}-{100 * high:.0f} | "
                     f"{el} | {r['trials']} |")
    return "\n".join(lines) + "\n"


def results_card(title: str, rows: Sequence[Mapping[str, Any]], facts: Mapping[str, Any]) -> str:
    """The run's ``results.md``: the table, then what produced it."""
    body = [f"# {title}", "", markdown_table(rows)]
    body += [f"- {key}: {value}" for key, value in facts.items()]
    return "\n".join(body) + "\n"
