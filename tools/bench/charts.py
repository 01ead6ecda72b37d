"""The report's pictures: Mermaid xychart blocks, which GitHub draws where the Markdown is shown.

Text in the repository, regenerated with the tables by every `make bench`: no image files that
could fall out of step with the numbers beside them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def bar_chart(title: str, axis: str, bars: Sequence[tuple[str, float]]) -> list[str]:
    """One bar per (label, value), the y axis from 0 to a round number above the largest."""
    shown = [(label, value) for label, value in bars if math.isfinite(value)]
    if not shown:
        return []
    top = _round_up(max(value for _, value in shown))
    labels = ", ".join(f'"{_quoted(label)}"' for label, _ in shown)
    values = ", ".join(_number(value) for _, value in shown)
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{_quoted(title)}"',
        f"    x-axis [{labels}]",
        f'    y-axis "{_quoted(axis)}" 0 --> {_number(top)}',
        f"    bar [{values}]",
        "```",
    ]


def _round_up(value: float) -> float:
    """The next of 1, 2, 2.5, 5 times a power of ten at or above value (0 stays 1)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1.0, 2.0, 2.5, 5.0, 10.0) if step * power >= value)


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2f}".rstrip("0").rstrip(".")


def _quoted(text: str) -> str:
    # Mermaid ends a label at a double quote; the labels here never need one.
    return text.replace('"', "'")
