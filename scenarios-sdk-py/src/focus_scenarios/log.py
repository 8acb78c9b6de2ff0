"""The scenario's log and its measured figures: :func:`info` and friends, :func:`annotate`."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum

from . import _wit


class Level(Enum):
    """How important a log line is."""

    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


_LEVELS = {
    Level.DEBUG: _wit.runtime.Level.DEBUG,
    Level.INFO: _wit.runtime.Level.INFO,
    Level.WARN: _wit.runtime.Level.WARN,
    Level.ERROR: _wit.runtime.Level.ERROR,
}


def log(level: Level, message: str) -> None:
    """Writes a line to the scenario's log, which goes into the report."""
    _wit.runtime.log(_LEVELS[level], message)


def debug(message: str) -> None:
    """Logs fine detail."""
    log(Level.DEBUG, message)


def info(message: str) -> None:
    """Logs what the scenario is doing."""
    log(Level.INFO, message)


def warn(message: str) -> None:
    """Logs something odd that is not yet a failure."""
    log(Level.WARN, message)


def error(message: str) -> None:
    """Logs something that went wrong."""
    log(Level.ERROR, message)


def annotate(key: str, value: object) -> None:
    """Records a measured figure, such as ``annotate("outage_503_count", 4)``; it goes into the
    testcase's JUnit properties."""
    _wit.runtime.annotate(key, str(value))


def annotate_secs(key: str, value: timedelta) -> None:
    """Records a duration in seconds with three decimals: ``response_time_s`` = ``0.004``."""
    annotate(key, f"{value.total_seconds():.3f}")
