"""Recovery: a MongoDB pod deleted and recreated (Ticket #2, option B). The twin of
scenarios/src/recovery.rs."""

from __future__ import annotations

from checks import configure_until_success
from focus_scenarios import (
    MONGODB,
    Capability,
    annotate,
    annotate_secs,
    ensure,
    fmt_seconds,
    historic,
    info,
    jobs,
    ms,
    now,
    require,
    scenario,
    seconds,
    task_id,
    workload,
)


@scenario(tags=["p2", "mongodb"], timeout="120s")
def mongodb_pod_restart_resilience() -> None:
    """Ticket #2, option B: while a deleted MongoDB pod is recreated, configures sent every
    500 ms get 503 (never another 5xx, never over 5 s), and one succeeds within 60 s. At least
    one 503 must be seen, or the outage window was not observed."""
    require(Capability.DELETE_POD)
    mongodb = workload(MONGODB)
    deleted = mongodb.delete_pod()
    deleted_at = now()
    info(f"deleted pod {deleted}; configuring every 500 ms until one succeeds")

    task = task_id("pod-restart")
    ok, unavailable = configure_until_success(task, historic(), seconds(60), ms(500))
    recovered = deleted_at.elapsed()
    annotate("outage_503_count", unavailable)
    annotate_secs("first_success_after_delete_s", recovered)
    info(f"{ok.request} answered 200 {fmt_seconds(recovered)} after the deletion, "
         f"after {unavailable} 503s")
    ensure(unavailable > 0,
           f"the outage window was not observed: the first configure after deleting pod "
           f"{deleted} already succeeded, so nothing shows how the Focus Server behaves while "
           "MongoDB is gone")

    found = jobs(task)
    ensure(len(found) == 1,
           f"jobs orchestrated for task {task} (only the 200 may start one): got {len(found)}, "
           "expected 1")
    ensure(all(p.name != deleted for p in mongodb.pods()),
           f"the deleted pod {deleted} is still listed")
