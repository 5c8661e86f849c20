"""Development sessions: ``nox -s tests``, ``lint``, ``typecheck``, ``docs``, ``bench``."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.10", "3.11", "3.12"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite (the same command the README shows)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and a check that the sync client is generated from the async one."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", ".ci/unasync.py", "--check")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package, and on the typed usage file users' code resembles."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "openassistant_sdk", "openassistant_server")
    session.run("mypy", "--strict", "tests/typing/usage.py")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site; warnings are errors."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "-d", "site", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def unasync(session: nox.Session) -> None:
    """Regenerate the sync client from the async one."""
    session.run("python", ".ci/unasync.py", external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks side by side with their baselines (not part of the tests)."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "bench", *session.posargs)
