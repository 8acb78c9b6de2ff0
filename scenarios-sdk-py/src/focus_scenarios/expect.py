"""Assertions whose failures say what was expected and what happened, with the same messages
as the Rust SDK's, such as
``POST /configure?task_id=… answered 503 after 15.42 s, over the 5.00 s limit``.
Each raises a :class:`~focus_scenarios.Failure` (a JUnit ``<failure>``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Iterable

from .clock import fmt_seconds
from .errors import Failure
from .http import Response

_BODY_LIMIT = 4096


def body_detail(response: Response) -> str:
    """The body of `response`, cut at 4 KiB, for a failure's detail."""
    body = response.text
    encoded = body.encode()
    if len(encoded) <= _BODY_LIMIT:
        return f"response body: {body}"
    shown = encoded[:_BODY_LIMIT].decode("utf-8", errors="ignore")
    return f"response body ({len(encoded)} bytes, first {len(shown.encode())} shown): {shown}"


def expect_status(response: Response, expected: int) -> None:
    """Expects `response` to have status `expected`."""
    expect_status_in(response, [expected])


def expect_status_in(response: Response, expected: Iterable[int]) -> None:
    """Expects the status of `response` to be one of `expected`."""
    wanted = list(expected)
    if response.status in wanted:
        return
    raise Failure(
        f"{response.request} answered {response.status} after {fmt_seconds(response.elapsed)}, "
        f"expected {' or '.join(str(s) for s in wanted)}",
        body_detail(response),
    )


def expect_within(response: Response, limit: timedelta) -> None:
    """Expects `response` to have come within `limit`."""
    if response.elapsed <= limit:
        return
    raise Failure(
        f"{response.request} answered {response.status} after {fmt_seconds(response.elapsed)}, "
        f"over the {fmt_seconds(limit)} limit",
        body_detail(response),
    )


def expect_duration_within(what: str, took: timedelta, limit: timedelta) -> None:
    """Expects a measured duration, named by `what`, to be at most `limit`."""
    if took > limit:
        raise Failure(f"{what} took {fmt_seconds(took)}, over the {fmt_seconds(limit)} limit")


def expect_body_contains(response: Response, needle: str) -> None:
    """Expects the body of `response` to contain `needle`."""
    if needle in response.text:
        return
    quoted = '"' + needle.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise Failure(
        f"{response.request} answered {response.status} without {quoted} in its body",
        body_detail(response),
    )


def ensure(condition: object, message: str) -> None:
    """Fails the scenario with `message` unless `condition` holds."""
    if not condition:
        raise Failure(message)

