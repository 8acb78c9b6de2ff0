"""Request bodies and task ids for ``POST /configure`` and ``POST /config/{task_id}``.

Historic requests use the window the Focus Server seeds with ``--seed-recordings``:
2025-01-01 00:00–00:10 UTC, the P0 ticket's.
"""

from __future__ import annotations

import itertools
from typing import Any, Dict

from .clock import now
from .environment import run_id

TICKET_WINDOW_START = 1_735_689_600
"""2025-01-01 00:00:00 UTC, epoch seconds: the start of the seeded window."""

TICKET_WINDOW_END = 1_735_690_200
"""2025-01-01 00:10:00 UTC, epoch seconds: the end of the seeded window."""

LEGACY_TICKET_BODY = (
    '{"displayTimeAxisDuration": 10, "nfftSelection": 1024, "canvasInfo": {"height": 1000}, '
    '"sensors": {"min": 1, "max": 3}, "frequencyRange": {"min": 0, "max": 500}, '
    '"start_time": "250101000000", "end_time": "250101001000"}'
)
"""The P0 ticket's exact legacy body, as its curl sent it to ``POST /config/test_task``."""

LEGACY_TICKET_TASK = "test_task"
"""The P0 ticket's task id."""


def historic() -> Dict[str, Any]:
    """A valid multichannel configure over the seeded window: it needs MongoDB."""
    return {
        "displayInfo": {"height": 1000},
        "channels": {"min": 1, "max": 50},
        "view_type": "0",
        "nfftSelection": 1024,
        "displayTimeAxisDuration": 10,
        "frequencyRange": {"min": 0, "max": 500},
        "start_time": TICKET_WINDOW_START,
        "end_time": TICKET_WINDOW_END,
    }


def live() -> Dict[str, Any]:
    """A valid live multichannel configure (no time window): it does not need MongoDB."""
    body = historic()
    body["start_time"] = None
    body["end_time"] = None
    return body


_COUNTER = itertools.count()


def task_id(prefix: str) -> str:
    """A task id unique across the scenarios of this run: `prefix`, the run id and a counter,
    such as ``failover-20261201-113000-7f3a-1a2b3c-0``."""
    return f"{prefix}-{run_id()}-{now().nanos:x}-{next(_COUNTER)}"
