"""Run the benchmarks side by side with their alternatives and print a table of ratios.

python -m bench                      # everything (about 5 minutes)
python -m bench decoding e2e         # some of them
python -m bench --quick              # a short smoke run (under a minute)
python -m bench --json out.json --chart docs/performance.png
python -m bench --from-json out.json --chart docs/performance.png   # redraw, no run
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from importlib import metadata

from ._harness import Row, print_table

BENCHMARKS = ("decoding", "e2e", "concurrency", "connections", "memory", "imports", "bridge")
_SERVED = {"e2e", "concurrency", "memory", "connections"}
_PACKAGES = ("httpx", "httpcore", "h11", "anyio", "attrs", "httpx-sse", "aiohttp", "httpx-aiohttp")


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for name in ("openassistant-sdk", *_PACKAGES):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{name} {metadata.version(name)}")
    return {
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(),
        "packages": ", ".join(versions),
    }


def _run(names: list[str], quick: bool) -> list[Row]:
    from . import concurrency, connections, decoding, e2e, imports, memory
    from ._server import BenchServer

    results: dict[str, list[Row]] = {}
    if "imports" in names:  # first, before the server's process is running
        results["imports"] = imports.run(quick=quick)
    if "decoding" in names:
        results["decoding"] = decoding.run(quick=quick)
    if "bridge" in names:
        from . import bridge

        results["bridge"] = bridge.run(quick=quick)
    if _SERVED & set(names):
        with BenchServer() as server:
            for name, module in (
                ("e2e", e2e),
                ("concurrency", concurrency),
                ("connections", connections),
                ("memory", memory),
            ):
                if name in names:
                    results[name] = module.run(server, quick=quick)  # type: ignore[attr-defined]
    return [row for name in BENCHMARKS for row in results.get(name, [])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"run only these: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, few rounds")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--chart", metavar="PATH", help="draw the results as a PNG")
    parser.add_argument("--from-json", metavar="PATH", help="load results instead of running")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    if args.from_json:
        with open(args.from_json) as file:
            saved = json.load(file)
        info, rows = saved["machine"], [Row.from_json(r) for r in saved["rows"]]
        quick = saved.get("quick", False)
    else:
        info = machine()
        print(" | ".join(f"{k}: {v}" for k, v in info.items() if k != "packages"), file=sys.stderr)
        started = time.perf_counter()
        rows = _run(names, args.quick)
        info["duration"] = f"{time.perf_counter() - started:.0f} s"
        quick = args.quick
    print()
    print_table(rows)
    print()
    for key, value in info.items():
        print(f"- {key}: {value}")
    if args.json:
        with open(args.json, "w") as file:
            data = {"machine": info, "quick": quick, "rows": [r.to_json() for r in rows]}
            json.dump(data, file, indent=1)
            file.write("\n")
    if args.chart:
        from ._chart import draw

        title = (
            f"openassistant-sdk benchmarks ({info['python']}, {info['nproc']} cores, {info['cpu']})"
        )
        draw(rows, args.chart, title=title + (" [quick]" if quick else ""))
        print(f"\nchart written to {args.chart}", file=sys.stderr)
    missed = [f"{r.bench}: {r.variant} ({r.target})" for r in rows if r.met is False]
    if missed:
        print("\ntargets missed:\n  " + "\n  ".join(missed), file=sys.stderr)
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
