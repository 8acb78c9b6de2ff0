"""Time on the host's clock: :func:`now`, :func:`sleep`, :class:`Deadline`, polling with
:func:`wait_until` / :func:`wait_for`, the wall clock, and durations.

Durations are :class:`datetime.timedelta` everywhere; :func:`seconds` and :func:`ms` make them.
What a scenario measures uses the host's monotonic clock, so it matches what the runner reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional, TypeVar, Union

from . import _wit
from .errors import Failure

T = TypeVar("T")

_U64_MAX = (1 << 64) - 1


def seconds(value: float) -> timedelta:
    """A duration of `value` seconds: ``seconds(5)``, ``seconds(2.5)``."""
    return timedelta(seconds=value)


def ms(value: float) -> timedelta:
    """A duration of `value` milliseconds: ``ms(250)``."""
    return timedelta(milliseconds=value)


def to_nanos(duration: timedelta) -> int:
    """`duration` in the contract's nanoseconds, clamped to 0 … 2⁶⁴−1."""
    micros = duration // timedelta(microseconds=1)
    return max(0, min(_U64_MAX, micros * 1000))


def from_nanos(nanos: int) -> timedelta:
    """A duration from the contract's nanoseconds (to the microsecond)."""
    return timedelta(microseconds=round(nanos / 1000))


def fmt_seconds(duration: timedelta, precision: int = 2) -> str:
    """`duration` as seconds with two decimals, such as ``15.42 s``, as the SDK's messages say.

    >>> fmt_seconds(ms(15_420))
    '15.42 s'
    """
    return f"{duration.total_seconds():.{precision}f} s"


_PART = re.compile(r"(\d+)(ms|min|s|m|h)")
_FACTORS = {"ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000}


def parse_duration(text: str) -> timedelta:
    """Parses a timeout such as ``"120s"``, ``"2m"``, ``"1m30s"`` or ``"500ms"``, as the Rust
    SDK's ``timeout = "…"`` does. Raises :class:`ValueError` with the accepted forms.
    """
    compact = "".join(text.split())
    usage = (
        f"timeout {text!r} is not understood: write whole numbers with units h, m, s or ms, "
        'such as "120s", "2m", "1m30s" or "500ms"'
    )
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(usage)
    total = sum(int(n) * _FACTORS[u] for n, u in parts)
    if total == 0:
        raise ValueError(f"timeout {text!r} is zero: give the scenario time to run")
    return timedelta(milliseconds=total)


Timeout = Union[timedelta, str]
"""A duration, or a string that :func:`parse_duration` reads."""


def as_timedelta(value: Timeout) -> timedelta:
    """`value` as a :class:`timedelta`: strings go through :func:`parse_duration`."""
    return parse_duration(value) if isinstance(value, str) else value


@dataclass(frozen=True, order=True)
class Instant:
    """A point on the host's monotonic clock; only differences between instants mean anything."""

    nanos: int

    @staticmethod
    def now() -> "Instant":
        """The host's clock now."""
        return Instant(_wit.runtime.now())

    def elapsed(self) -> timedelta:
        """The time since this instant."""
        return Instant.now() - self

    def __sub__(self, earlier: "Instant") -> timedelta:
        return from_nanos(max(0, self.nanos - earlier.nanos))

    def __add__(self, duration: timedelta) -> "Instant":
        return Instant(min(_U64_MAX, self.nanos + to_nanos(duration)))


def now() -> Instant:
    """The host's monotonic clock now: ``start = now(); …; took = start.elapsed()``."""
    return Instant.now()


def sleep(duration: timedelta) -> None:
    """Sleeps on the host for `duration`; the scenario's deadline still applies. Prefer
    :func:`wait_until` to sleeping for a condition."""
    _wit.runtime.sleep(to_nanos(duration))


def wall_clock() -> datetime:
    """The wall clock now, in UTC, for payloads that carry real times. Measure durations with
    :func:`now`, not with this."""
    return datetime.fromtimestamp(_wit.runtime.wall_clock() / 1000, tz=timezone.utc)


class Deadline:
    """A point in time to give up at, for loops that poll::

        deadline = Deadline.after(seconds(60))
        while not deadline.passed():
            ...
            sleep(min(seconds(1), deadline.remaining()))
    """

    def __init__(self, start: Instant, timeout: timedelta) -> None:
        self.start = start
        self.timeout = timeout
        self.at = start + timeout

    @staticmethod
    def after(timeout: timedelta) -> "Deadline":
        """The deadline `timeout` from now."""
        return Deadline(Instant.now(), timeout)

    def passed(self) -> bool:
        """Whether the deadline has passed."""
        return Instant.now() >= self.at

    def remaining(self) -> timedelta:
        """The time left; zero once passed."""
        return self.at - Instant.now()

    def elapsed(self) -> timedelta:
        """The time since the deadline was set."""
        return self.start.elapsed()


def wait_for(
    what: str, timeout: timedelta, every: timedelta, check: Callable[[], Optional[T]]
) -> T:
    """Calls `check` every `every` until it returns something other than ``None``, and returns
    that. Raises a :class:`Failure` ("gave up waiting for WHAT after 10.00 s (21 checks)") once
    `timeout` passes; the last check runs at the deadline."""
    deadline = Deadline.after(timeout)
    checks = 0
    while True:
        last = deadline.passed()
        checks += 1
        value = check()
        if value is not None:
            return value
        if last:
            raise Failure(
                f"gave up waiting for {what} after {fmt_seconds(deadline.elapsed())} ({checks} checks)"
            )
        sleep(min(every, deadline.remaining()))


def wait_until(
    what: str, timeout: timedelta, every: timedelta, check: Callable[[], bool]
) -> timedelta:
    """Calls `check` every `every` until it returns true, and returns how long that took; a
    :class:`Failure` once `timeout` passes. `check` may raise host errors and failures."""
    deadline = Deadline.after(timeout)
    wait_for(what, timeout, every, lambda: True if check() else None)
    return deadline.elapsed()
