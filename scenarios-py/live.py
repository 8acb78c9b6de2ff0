"""Live configures do not need MongoDB: they keep working during an outage, and their job
records land once MongoDB is back. The twin of scenarios/src/live.rs."""

from __future__ import annotations

from checks import POLL, health_database_count, sla, wait_focus_server_sees_outage, wait_unreachable
from focus_scenarios import (
    MONGODB,
    Capability,
    annotate_secs,
    configure,
    ensure,
    expect_status,
    expect_within,
    info,
    job_id_of,
    jobs,
    live,
    now,
    require,
    scenario,
    seconds,
    task_id,
    wait_until,
    workload,
)


@scenario(tags=["p1", "mongodb"], timeout="90s")
def live_configure_unaffected_by_mongodb_outage() -> None:
    """While MongoDB is scaled to 0, a live configure (no time window) answers 200 and its job
    runs; after MongoDB returns, the job's record is written to it.

    The contract cannot read MongoDB itself, so "the record is written" is read from the Focus
    Server's /health: its queue of pending job-record writes holds the record during the outage
    and drains to empty, with nothing dropped, after MongoDB returns."""
    require(Capability.SCALE)
    mongodb = workload(MONGODB)
    replicas = mongodb.replicas()
    dropped_before = health_database_count("pending_writes_dropped")
    mongodb.scale(0)
    info(f"scaled {MONGODB} to 0")
    wait_unreachable()
    # Until the Focus Server notices the outage, its writer may hold the record in a write
    # attempt rather than in the queue; the check below is about the outage as it lives it.
    wait_focus_server_sees_outage(seconds(15))

    task = task_id("live")
    response = configure(task, live())
    annotate_secs("live_response_time_s", response.elapsed)
    expect_status(response, 200)
    expect_within(response, sla())
    job_id = job_id_of(response)
    listed = jobs(task)
    ensure(any(j.id == job_id and j.state == "running" for j in listed),
           f"the live job {job_id} is not listed as running for task {task}: {listed}")
    queued = [0]

    def waiting() -> bool:
        queued[0] = health_database_count("pending_writes")
        return queued[0] >= 1

    wait_until("the live job's record to wait in the Focus Server's pending writes during the "
               "outage", seconds(5), POLL, waiting)
    info(f"{queued[0]} job-record writes wait for mongodb")

    mongodb.scale(max(replicas, 1))
    mongodb.wait_ready(seconds(30))
    back = now()
    wait_until("the Focus Server's pending job-record writes to drain into mongodb", seconds(15),
               POLL, lambda: health_database_count("pending_writes") == 0)
    annotate_secs("records_flushed_after_s", back.elapsed())
    dropped_after = health_database_count("pending_writes_dropped")
    ensure(dropped_after == dropped_before,
           f"job-record writes dropped during the outage: got {dropped_after}, "
           f"expected {dropped_before}")
    listed = jobs(task)
    ensure(any(j.id == job_id and j.state == "running" for j in listed),
           f"the live job {job_id} stopped running after mongodb returned: {listed}")
