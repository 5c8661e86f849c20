"""Import time: ``import openassistant_sdk`` against ``import httpx, attrs`` (and openai).

Each import runs in a fresh interpreter that times only the import statement, so interpreter
start-up is left out. Byte code is cached as for an installed package: the children write and
read it under a private ``PYTHONPYCACHEPREFIX`` (a first, unmeasured round compiles), so
``PYTHONDONTWRITEBYTECODE`` in the environment does not turn every run into a compile.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile

from ._harness import Row, interleave, rows_for

__all__ = ["run"]

SDK = "import openassistant_sdk"
# The facades are imported on first use: what a program pays when it takes one of them.
SYNC = "from openassistant_sdk import Client"
ASYNC = "from openassistant_sdk import AsyncClient"
BASE = "import httpx, attrs"
OPENAI = "import openai"
CORE = "the sans-I/O core alone (attrs, no httpx)"
# The core's modules imported without the package's __init__ (which brings in the facades and
# httpx): what the core itself costs, and a check that it imports only what every path needs.
_CORE_STATEMENT = (
    "import sys, types; package = types.ModuleType('openassistant_sdk');"
    " package.__path__ = ['openassistant_sdk']; sys.modules['openassistant_sdk'] = package;"
    " import openassistant_sdk._config, openassistant_sdk._cookies, openassistant_sdk._prompt,"
    " openassistant_sdk._reply, openassistant_sdk._sse"
)
_PROBE = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"


def _time_import(statement: str, env: dict[str, str], cwd: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(statement)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=True,
    )
    return float(out.stdout.strip())


def run(*, quick: bool) -> list[Row]:
    """Time each import in fresh interpreters, interleaved (30 rounds, 5 with ``quick``)."""
    statements = [SDK, SYNC, ASYNC, BASE]
    if importlib.util.find_spec("openai") is not None:
        statements.append(OPENAI)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        variants = {
            statement: (lambda statement=statement: _time_import(statement, env, root))
            for statement in statements
        }
        variants[CORE] = lambda: _time_import(_CORE_STATEMENT, env, root)
        samples = interleave(variants, repeats=5 if quick else 30, warmup=1, label="import time")
    rows = rows_for(
        "import time (fresh interpreter)",
        samples,
        unit="s",
        baseline=BASE,
        targets={
            name: ("<= 1.3x httpx + attrs", lambda r: r <= 1.3) for name in (SDK, SYNC, ASYNC)
        },
    )
    if OPENAI not in statements:
        rows.append(
            Row(
                bench="import time (fresh interpreter)",
                variant=OPENAI,
                median=float("nan"),
                unit="s",
                note="not installed: pip install openai to compare",
            )
        )
    return rows
