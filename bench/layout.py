"""How the package is laid out, measured from the source: statements and lines per module.

    python -m bench.layout            # this checkout
    python -m bench.layout REV        # another commit, read with git (e.g. to compare)

Counts the statements of the hand-written facade modules (the ones that do I/O), the
largest hand-written modules, and the core's share, with ``ast`` (docstrings left out).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED_MARK = "# Generated from "


def statements(source: str) -> int:
    """Count the statements in a module, docstrings left out."""
    count = 0
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.stmt):
            continue
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            continue  # a docstring
        count += 1
    return count


def files(rev: str | None) -> dict[str, str]:
    """Return the package's Python files (path -> text) at ``rev`` or in the work tree."""
    if rev is None:
        return {
            p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
            for p in (ROOT / "openassistant_sdk").rglob("*.py")
        }
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, "openassistant_sdk/"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return {
        name: subprocess.run(
            ["git", "show", f"{rev}:{name}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        for name in names
        if name.endswith(".py")
    }


def is_facade(path: str, text: str) -> bool:
    """Whether a module is a hand-written facade module that does I/O."""
    if text.startswith(GENERATED_MARK):
        return False
    name = path.removeprefix("openassistant_sdk/")
    if name.startswith(("_async/", "_sync/")):
        return True
    # The layout before the facades had packages of their own.
    return name in {
        "_async_client.py",
        "_client.py",
        "_transport.py",
        "_async_primitives.py",
        "_sync_primitives.py",
    }


def main(argv: list[str]) -> int:
    rev = argv[0] if argv else None
    sources = files(rev)
    hand = {
        p: t
        for p, t in sources.items()
        if not t.startswith(GENERATED_MARK) and "Generated from _async" not in t[:200]
    }
    facade = {p: statements(t) for p, t in hand.items() if is_facade(p, t)}
    print(f"layout of {rev or 'the work tree'}")
    print(f"  statements in hand-written facade modules: {sum(facade.values())}")
    for path, count in sorted(facade.items(), key=lambda kv: -kv[1]):
        print(f"    {count:5d}  {path}")
    lines = sorted(((t.count(chr(10)), p) for p, t in hand.items()), reverse=True)
    print("  largest hand-written modules (lines):")
    for count, path in lines[:6]:
        print(f"    {count:5d}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
