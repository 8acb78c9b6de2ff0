"""A scenario package to copy: Ticket #1's verification test (PZ-13640).

MongoDB is restored by the runner after the scenario, whatever its outcome.
"""

from focus_scenarios import (
    annotate_secs,
    configure,
    expect_focus_server_sees_database,
    expect_status,
    expect_within,
    historic,
    param_float,
    scenario,
    seconds,
    sleep,
    steady_state,
    task_id,
    workload,
)


@steady_state
def focus_server_sees_database() -> None:
    """The Focus Server reports its database up and seeded, and MongoDB answers a ping."""
    expect_focus_server_sees_database()


@scenario(tags=["p0", "sla"], key="PZ-13640", timeout="60s")
def focus_server_fast_failover() -> None:
    """With MongoDB scaled to 0, a historic POST /configure answers 503 within the 5 s SLA."""
    workload("mongodb").scale(0)
    sleep(seconds(5))
    response = configure(task_id("failover"), historic())  # 2025-01-01 00:00-00:10 UTC
    annotate_secs("response_time_s", response.elapsed)
    expect_within(response, seconds(param_float("sla_s", 5.0)))
    expect_status(response, 503)
