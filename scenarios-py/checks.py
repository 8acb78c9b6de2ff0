"""What the tickets repeat: the steady state, a fast and clear 503, nothing orchestrated, and
configuring until MongoDB is back. The Python twin of scenarios/src/checks.rs and database.rs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional, Tuple

from focus_scenarios import (
    MONGODB,
    Deadline,
    Failure,
    Response,
    annotate_secs,
    configure,
    ensure,
    expect_body_contains,
    expect_focus_server_sees_database,
    expect_status,
    expect_status_in,
    expect_within,
    fmt_seconds,
    get,
    info,
    jobs,
    ms,
    now,
    param_float,
    probe,
    seconds,
    sleep,
    steady_state,
    wait_until,
    warn,
)

POLL = ms(100)
"""How often to look again while waiting for a state."""

DATABASE_UNAVAILABLE = "database unavailable"
"""What the body of a database 503 says."""


def sla() -> timedelta:
    """The Focus Server's SLA for an answer during an outage (PZ-13640): parameter ``sla_s``,
    5 s by default."""
    return seconds(param_float("sla_s", 5.0))


@steady_state
def focus_server_sees_database() -> None:
    """The Focus Server reports its database up and its recordings seeded, and MongoDB answers
    a ping."""
    expect_focus_server_sees_database()


def wait_unreachable() -> timedelta:
    """Waits until the MongoDB probe says unreachable, and logs what it saw."""
    last = [""]

    def unreachable() -> bool:
        found = probe(MONGODB)
        last[0] = found.detail
        return not found.reachable

    took = wait_until("the mongodb probe to say unreachable", seconds(20), POLL, unreachable)
    info(f"mongodb unreachable after {fmt_seconds(took)}: {last[0]}")
    return took


def wait_focus_server_sees_outage(timeout: timedelta) -> Optional[timedelta]:
    """Waits, at most `timeout`, until the Focus Server's /health reports its database down;
    goes on either way, returning how long that took or ``None``."""
    deadline = Deadline.after(timeout)
    while True:
        health = get("/health")
        expect_status(health, 200)
        state = (health.json().get("database") or {}).get("state")
        if state is None:
            return None
        if state == "down":
            took = deadline.elapsed()
            info(f"the Focus Server reports its database down after {fmt_seconds(took)}")
            return took
        if deadline.passed():
            warn(f"the Focus Server still reports its database {state!r} after "
                 f"{fmt_seconds(deadline.elapsed())}; configuring anyway")
            return None
        sleep(min(POLL, deadline.remaining()))


def expect_fast_database_503(response: Response, key: str) -> None:
    """The ticket's answer during an outage: 503 within the SLA, a body saying the database is
    unavailable, and a Retry-After. Annotates the response time under `key`."""
    annotate_secs(key, response.elapsed)
    info(f"{response.request} answered {response.status} after {fmt_seconds(response.elapsed)}")
    expect_within(response, sla())
    expect_status(response, 503)
    expect_body_contains(response, DATABASE_UNAVAILABLE)
    ensure(response.retry_after is not None,
           f"{response.request} answered 503 without a Retry-After header")


def expect_no_job(task: str) -> None:
    """Expects that no job was orchestrated for `task`."""
    found = jobs(task)
    if found:
        listed = "\n".join(f"{j.id} ({j.state}, created {j.created_at})" for j in found)
        raise Failure(f"expected no job orchestrated for task {task}, found {len(found)}", listed)


def configure_until_success(task: str, payload: Any, timeout: timedelta,
                            every: timedelta) -> Tuple[Response, int]:
    """Sends configures for `task` every `every` until one answers 200, within `timeout`. Every
    other answer must be a 503 within the SLA. Returns the 200 and how many 503s came first."""
    deadline = Deadline.after(timeout)
    unavailable = 0
    while True:
        sent = now()
        response = configure(task, payload)
        expect_status_in(response, [200, 503])
        expect_within(response, sla())
        if response.status == 200:
            return response, unavailable
        unavailable += 1
        if deadline.passed():
            raise Failure(
                f"no configure succeeded within {fmt_seconds(deadline.timeout)}: {unavailable} "
                f"answers, all 503, the last: {response.error_message() or ''}"
            )
        sleep(min(max(every - sent.elapsed(), timedelta(0)), deadline.remaining()))


def health_database_count(field: str) -> int:
    """/health's ``database.<field>`` as an integer; a failure when it does not report it."""
    health = get("/health")
    expect_status(health, 200)
    value = (health.json().get("database") or {}).get(field)
    if not isinstance(value, int):
        raise Failure(f"the Focus Server's /health reports no database.{field}, so whether job "
                      "records reach mongodb cannot be checked")
    return value
