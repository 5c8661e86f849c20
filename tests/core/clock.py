"""A clock for the core's tests: the flows read time only through the clock they are given."""

from __future__ import annotations


class Clock:
    """A monotonic clock the test moves by hand (``clock.now += 1.0``)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now
