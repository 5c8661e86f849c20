"""The chart in docs/performance.md: each benchmark's medians, the SDK's bars highlighted."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._harness import Row

__all__ = ["draw"]

_SDK_COLOR = "#2b6cb0"
_OTHER_COLOR = "#a0aec0"
_SCALE = {"s": (1000.0, "ms"), "MB": (1.0, "MB"), "KB": (1.0, "KB")}


def _is_sdk(variant: str) -> bool:
    return variant.startswith(
        ("Client", "AsyncClient", "openassistant_sdk", "import openassistant")
    )


def draw(rows: Sequence[Row], path: str, *, title: str) -> None:
    """Draw one panel per benchmark (connection counts left out) and save a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[Row]] = {}
    for row in rows:
        if row.unit in _SCALE and not math.isnan(row.median):
            groups.setdefault(row.bench, []).append(row)
    if not groups:
        raise ValueError("no results to chart")
    columns = 2
    lines = math.ceil(len(groups) / columns)
    fig, axes = plt.subplots(lines, columns, figsize=(13, 2.3 * lines + 0.8), squeeze=False)
    for ax, (bench, group) in zip(axes.flat, groups.items(), strict=False):
        factor, unit = _SCALE[group[0].unit]
        names = [row.variant for row in group][::-1]
        values = [row.median * factor for row in group][::-1]
        colors = [_SDK_COLOR if _is_sdk(n) else _OTHER_COLOR for n in names]
        bars = ax.barh(range(len(names)), values, color=colors)
        ax.set_yticks(range(len(names)), [n if len(n) <= 46 else n[:44] + "..." for n in names])
        ax.tick_params(axis="y", labelsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(bench, fontsize=10, loc="left")
        ax.set_xlabel(f"median, {unit} (shorter is better)", fontsize=8)
        top = max(values) if values else 1
        ax.set_xlim(0, top * 1.3)
        for bar, row in zip(bars, group[::-1], strict=True):
            value = row.median * factor
            label = f"{value:.0f}" if value >= 100 else f"{value:.3g}"
            if row.ratio is not None:
                label += f"  ({row.ratio:.2f}x)"
            ax.text(
                bar.get_width() + top * 0.01,
                bar.get_y() + bar.get_height() / 2,
                label,
                va="center",
                fontsize=8,
            )
    for ax in list(axes.flat)[len(groups) :]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
