"""The project's checks, in one list: ``nox`` runs them here, and CI runs ``nox`` (.ci/run).

``nox`` alone runs lint, typecheck, tests and docs; ``nox -s bench`` runs the benchmarks and
``nox -s unasync`` regenerates the sync facade. Sessions use the interpreter nox runs on;
``nox -s tests --force-python 3.12`` tries another.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "docs"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite: the README's command (``pip install -e '.[dev]' && pytest``)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and a check that the sync facade is generated from the async one."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", ".ci/unasync.py", "--check")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on both packages, and on the typed usage file users' code resembles."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "openassistant_sdk", "openassistant_server")
    session.run("mypy", "--strict", "tests/typing/usage.py")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site; warnings are errors."""
    session.install("-e", ".[docs]")
    session.run(
        "mkdocs", "build", "--strict", "--quiet", "-d", f"{session.virtualenv.location}/site",
        env={"NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip


@nox.session(venv_backend="none")
def unasync(session: nox.Session) -> None:
    """Regenerate the sync facade from the async one."""
    session.run("python", ".ci/unasync.py")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks side by side with their baselines (not part of the checks)."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "bench", *session.posargs)
