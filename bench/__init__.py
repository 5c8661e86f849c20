"""Benchmarks: the SDK side by side with what users would write instead.

Run ``python -m bench`` (or ``nox -s bench``); see docs/performance.md for the results and
what each benchmark measures. Not part of the package, nor of the tests: the tests never
assert times.
"""
