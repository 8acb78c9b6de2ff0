"""Outage scenarios for the Focus Server, in Python, against the ``focus:scenario`` contract.

The same concepts and names as the Rust SDK (``scenarios-sdk``), in Python's idiom::

    from focus_scenarios import configure, expect_status, expect_within, historic, scenario, \\
        seconds, sleep, task_id, workload

    @scenario(tags=["p0", "sla"], key="PZ-13640", timeout="60s")
    def focus_server_fast_failover():
        \"\"\"With MongoDB scaled to 0, a historic POST /configure answers 503 within 5 s.\"\"\"
        workload("mongodb").scale(0)
        sleep(seconds(5))
        response = configure(task_id("failover"), historic())
        expect_within(response, seconds(5))
        expect_status(response, 503)

The runner undoes every change after the scenario, whatever its outcome.
"""

from .clock import (
    Deadline,
    Instant,
    as_timedelta,
    fmt_seconds,
    ms,
    now,
    parse_duration,
    seconds,
    sleep,
    wait_for,
    wait_until,
    wall_clock,
)
from .environment import Capability, Environment, environment, param, param_float, require, run_id
from .errors import (
    Failure,
    HostError,
    HostFailed,
    HostTimeout,
    Invalid,
    NotFound,
    NotPermitted,
    Skip,
    Unsupported,
    fail,
    skip,
)
from .expect import (
    ensure,
    expect_body_contains,
    expect_duration_within,
    expect_status,
    expect_status_in,
    expect_within,
)
from .focus import (
    FOCUS_SERVER,
    MONGODB,
    Job,
    configure,
    configure_legacy,
    expect_focus_server_sees_database,
    get,
    job_id_of,
    jobs,
)
from .http import Method, Request, Response, on_rollback, send
from .log import Level, annotate, annotate_secs, debug, error, info, log, warn
from .payloads import (
    LEGACY_TICKET_BODY,
    LEGACY_TICKET_TASK,
    TICKET_WINDOW_END,
    TICKET_WINDOW_START,
    historic,
    live,
    task_id,
)
from .suite import Scenario, Suite, registered, scenario, steady_state
from .workloads import BlockMode, Pod, ProbeResult, Workload, probe, workload

__all__ = [name for name in dir() if not name.startswith("_")]
