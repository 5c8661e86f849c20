"""Interleaved repeats, medians and ratios: how every benchmark here compares its variants.

Each round runs every variant once, in an order that rotates from round to round, so that a
noisy neighbour or a slow stretch of the machine hits all variants alike. A variant's result
is the median of its rounds; its ratio is its median over the baseline's median.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Row", "interleave", "print_table", "rows_for", "timed"]


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    variant: str
    median: float
    unit: str
    samples: list[float] = field(default_factory=list)
    baseline: str | None = None
    ratio: float | None = None
    paired: tuple[float, float] | None = None  # min and max of the per-round ratios
    target: str | None = None
    met: bool | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        data = dict(data)
        if data.get("paired") is not None:
            data["paired"] = tuple(data["paired"])
        return cls(**data)


def timed(fn: Callable[[], object]) -> float:
    """Run ``fn`` once with the collector quiet; return the seconds it took."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(
    variants: dict[str, Callable[[], float]],
    *,
    repeats: int,
    warmup: int = 1,
    label: str = "",
) -> dict[str, list[float]]:
    """Run every variant once per round, rotating the order; return each one's samples.

    Args:
        variants: Name to a callable that runs the variant once and returns its measurement
            (seconds, bytes, ...), so that set-up can stay outside the measured part.
        repeats: Measured rounds.
        warmup: Rounds run first and thrown away (imports, caches, connection set-up).
        label: Shown on stderr as rounds complete.
    """
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(warmup + repeats):
        shift = round_ % len(names)
        order = names[shift:] + names[:shift]
        for name in order:
            value = variants[name]()
            if round_ >= warmup:
                samples[name].append(value)
        if label:
            done = round_ + 1
            print(f"\r  {label}: round {done}/{warmup + repeats}", end="", file=sys.stderr)
    if label:
        print(file=sys.stderr)
    return samples


def rows_for(
    bench: str,
    samples: dict[str, list[float]],
    *,
    unit: str,
    baseline: str | None,
    targets: dict[str, tuple[str, Callable[[float], bool]]] | None = None,
    notes: dict[str, str] | None = None,
) -> list[Row]:
    """Turn samples into rows: medians, ratios to the baseline, targets checked on the ratio.

    Args:
        targets: Variant name to (description, test of its ratio).
    """
    targets = targets or {}
    notes = notes or {}
    base = samples.get(baseline) if baseline is not None else None
    base_median = statistics.median(base) if base else None
    rows = []
    for name, values in samples.items():
        median = statistics.median(values)
        row = Row(bench=bench, variant=name, median=median, unit=unit, samples=list(values))
        if base is not None and base_median:
            row.baseline = baseline
            row.ratio = median / base_median
            ratios = [v / b for v, b in zip(values, base, strict=True) if b]
            if ratios and name != baseline:
                row.paired = (min(ratios), max(ratios))
        if name in targets and row.ratio is not None:
            row.target, check = targets[name]
            row.met = check(row.ratio)
        row.note = notes.get(name, "")
        rows.append(row)
    return rows


def _fmt(value: float, unit: str) -> str:
    if value != value:  # NaN: not measured
        return "-"
    if unit == "s":
        if value < 1:
            return f"{value * 1000:.1f} ms"
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "KB":
        return f"{value:.0f} KB"
    if unit == "count":
        return f"{value:g}"
    return f"{value:.3g} {unit}"


def print_table(rows: Sequence[Row], *, file: Any = None) -> None:
    """Print the results as a Markdown table (it goes into docs/performance.md as it is)."""
    out = file or sys.stdout
    header = ("benchmark", "variant", "median", "ratio", "per-round ratios", "target", "met")
    lines = [header, tuple("---" for _ in header)]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        if row.baseline == row.variant:
            ratio = "1.00x (baseline)"
        paired = f"{row.paired[0]:.2f}-{row.paired[1]:.2f}" if row.paired else ""
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        variant = row.variant + (f" ({row.note})" if row.note else "")
        lines.append(
            (row.bench, variant, _fmt(row.median, row.unit), ratio, paired, row.target or "", met)
        )
    for line in lines:
        print("| " + " | ".join(line) + " |", file=out)
