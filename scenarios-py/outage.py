"""MongoDB outages and what the Focus Server answers during them: Ticket #1's verification
test as written, and the network block. The twins of scenarios/src/outage.rs."""

from __future__ import annotations

from checks import (
    configure_until_success,
    expect_fast_database_503,
    expect_no_job,
    sla,
    wait_unreachable,
)
from focus_scenarios import (
    MONGODB,
    BlockMode,
    Capability,
    annotate_secs,
    configure,
    expect_duration_within,
    expect_status,
    expect_within,
    fmt_seconds,
    historic,
    info,
    ms,
    now,
    require,
    scenario,
    seconds,
    sleep,
    task_id,
    workload,
)


@scenario(tags=["p0", "sla"], key="PZ-13640", timeout="60s")
def focus_server_fast_failover() -> None:
    """Ticket #1's verification test as written: scale MongoDB down, wait 5 s, configure, and
    assert `response_time <= 5.0` and status 503."""
    require(Capability.SCALE)
    workload(MONGODB).scale(0)
    sleep(seconds(5))
    response = configure(task_id("failover"), historic())
    annotate_secs("response_time_s", response.elapsed)
    expect_within(response, sla())
    expect_status(response, 503)


# 90 s: against the old configuration a blackholed call waits connect timeout plus server
# selection (about 40 s), and the scenario must fail on its assertion, not on its deadline.
@scenario(tags=["p1", "mongodb", "network"], timeout="90s")
def mongodb_network_block_returns_503() -> None:
    """The network to MongoDB blackholed, as a NetworkPolicy does: POST /configure still
    answers 503 within 5 s with nothing orchestrated, and a 200 within 10 s of the unblock."""
    require(Capability.BLOCK_BLACKHOLE)
    mongodb = workload(MONGODB)
    mongodb.block_network(BlockMode.BLACKHOLE)
    info(f"blackholed the network to {MONGODB}")
    wait_unreachable()

    task = task_id("network-block")
    response = configure(task, historic())
    expect_fast_database_503(response, "response_time_s")
    expect_no_job(task)

    mongodb.unblock_network()
    unblocked = now()
    ok, unavailable = configure_until_success(task, historic(), seconds(10), ms(250))
    recovery = unblocked.elapsed()
    annotate_secs("recovery_time_s", recovery)
    info(f"{ok.request} answered 200 {fmt_seconds(recovery)} after the unblock, "
         f"after {unavailable} 503s")
    expect_duration_within("the first 200 after the unblock", recovery, seconds(10))
