"""Memory: resident set growth while one reply streams 1,000,000 tokens, and per open stream.

Each measurement runs in a fresh process (``bench._memory_child``) that reads the resident
set size from ``/proc/self/status``. The long reply's text is not kept by the reader, so any
growth is what the client itself keeps; samples are taken every 10,000 tokens, before the
final message arrives (the final message, which the stream hands over as ``.message``, holds
the whole text: that is asked for, and reported apart).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

from ._harness import Row, interleave, rows_for
from ._server import BenchServer

__all__ = ["run"]

_MB = 1024 * 1024
_TIMEOUT = 300.0

STREAM = {"sdk": "Client.stream", "raw": "httpx.Client + minimal loop"}
OPEN = {
    "sdk": "AsyncClient.stream",
    "raw": "httpx.AsyncClient + minimal loop",
    "seed": "seed: aiohttp, a session per call",
}


def _child(*args: str) -> dict[str, float]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, "-m", "bench._memory_child", *args],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        cwd=root,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"memory child {args[:2]} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(server: BenchServer, *, quick: bool) -> list[Row]:
    """Growth over a 1M-token reply (100k with ``quick``), and RSS per open stream."""
    tokens = 100_000 if quick else 1_000_000
    streams = 20 if quick else 100
    repeats = 1 if quick else 3
    server.base(tokens)  # (the server renders the long reply on its first request)
    finals: dict[str, list[float]] = {name: [] for name in STREAM.values()}

    def growth(mode: str) -> float:
        result = _child("stream", mode, server.url, str(tokens))
        if result["tokens"] < tokens:
            raise AssertionError(f"{mode} read {result['tokens']} of {tokens} tokens")
        finals[STREAM[mode]].append((result["after"] - result["before"]) / _MB)
        return (max(result["samples"]) - result["before"]) / _MB

    def per_stream(mode: str) -> float:
        result = _child("open", mode, server.url, str(streams))
        return (result["during"] - result["before"]) / streams / 1024

    bench = f"RSS growth, one {tokens // 1000}k-token reply"
    samples = interleave(
        {name: (lambda mode=mode: growth(mode)) for mode, name in STREAM.items()},
        repeats=repeats,
        warmup=0,
        label=bench,
    )
    notes = {
        name: f"RSS after the stream: +{statistics.median(values):.1f} MB"
        for name, values in finals.items()
    }
    rows = rows_for(
        bench,
        samples,
        unit="MB",
        baseline=None,
        notes=notes,
    )
    for row in rows:
        if row.variant == STREAM["sdk"]:
            row.target, row.met = "< 10 MB", row.median < 10
    bench = f"RSS per open stream ({streams} at once)"
    samples = interleave(
        {name: (lambda mode=mode: per_stream(mode)) for mode, name in OPEN.items()},
        repeats=repeats,
        warmup=0,
        label=bench,
    )
    rows += rows_for(bench, samples, unit="KB", baseline=OPEN["raw"])
    return rows
