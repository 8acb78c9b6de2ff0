"""The Focus Server's API, built on :mod:`~focus_scenarios.http`: :func:`configure`,
:func:`configure_legacy`, :func:`get`, :func:`jobs` and the common steady state
:func:`expect_focus_server_sees_database`.

Every call is exactly one HTTP attempt; :attr:`Response.elapsed` is that attempt's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List
from urllib.parse import quote

from .errors import Failure
from .expect import expect_status
from .http import Request, Response
from .workloads import probe

FOCUS_SERVER = "focus-server"
"""The Focus Server's service and workload name."""

MONGODB = "mongodb"
"""MongoDB's service and workload name."""


def configure(task_id: str, payload: Any, keep_job: bool = False) -> Response:
    """``POST /configure?task_id=TASK_ID`` with `payload` (a dict, or a ``str`` sent as it is):
    one attempt, no retries. A job that answers 200 is stopped at rollback with
    ``DELETE /job/{id}`` unless `keep_job` is true."""
    path = f"/configure?task_id={quote(task_id, safe='')}"
    response = Request.post(FOCUS_SERVER, path).json(payload).send()
    _stop_at_rollback(response, keep_job)
    return response


def configure_legacy(task_id: str, payload: Any, keep_job: bool = False) -> Response:
    """``POST /config/TASK_ID``, the P0 ticket's legacy route: one attempt, no retries."""
    response = Request.post(FOCUS_SERVER, f"/config/{quote(task_id, safe='')}").json(payload).send()
    _stop_at_rollback(response, keep_job)
    return response


def _stop_at_rollback(response: Response, keep_job: bool) -> None:
    if keep_job or response.status != 200:
        return
    try:
        job_id = response.json().get("job_id")
    except (Failure, AttributeError):
        return
    if isinstance(job_id, str) and job_id:
        Request.delete(FOCUS_SERVER, f"/job/{quote(job_id, safe='')}").on_rollback()


def get(path: str) -> Response:
    """One ``GET`` of a Focus Server path, such as ``/health``, ``/jobs`` or ``/metadata/ID``."""
    return Request.get(FOCUS_SERVER, path).send()


@dataclass(frozen=True)
class Job:
    """One orchestrated job, as ``GET /jobs`` lists it."""

    id: str
    task_id: str
    view_type: str
    state: str
    """Such as ``running``, ``stopped`` or ``failed``."""
    created_at: str


def jobs(task_id: str) -> List[Job]:
    """The jobs the Focus Server orchestrated for `task_id`, so that "nothing was
    orchestrated" can be asserted."""
    response = get(f"/jobs?task_id={quote(task_id, safe='')}")
    expect_status(response, 200)
    listed = response.json()
    if not isinstance(listed, list):
        raise Failure(f"{response.request} answered a body that is not a list of jobs", response.text)
    return [
        Job(
            id=str(j.get("job_id", "")),
            task_id=str(j.get("task_id", "")),
            view_type=str(j.get("view_type", "")),
            state=str(j.get("state", "")),
            created_at=str(j.get("created_at", "")),
        )
        for j in listed
        if isinstance(j, dict)
    ]


def job_id_of(response: Response) -> str:
    """The ``job_id`` of a 200 configure; a :class:`Failure` when it has none."""
    body = response.json()
    job_id = body.get("job_id") if isinstance(body, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise Failure(
            f"{response.request} answered {response.status} without a job_id",
            f"response body: {response.text}",
        )
    return job_id


def expect_focus_server_sees_database() -> None:
    """The common steady state: the Focus Server reports its database up and its recordings
    seeded in ``/health``, and MongoDB answers a driver ping. Raises a :class:`Failure` saying
    what was seen otherwise. Use it in a ``@steady_state`` function."""
    health = get("/health")
    expect_status(health, 200)
    database = health.json().get("database") or {}
    state = database.get("state")
    seeded = database.get("recordings_seeded")
    if state not in (None, "up") or seeded is False:
        raise Failure(
            "the Focus Server does not see its database yet: "
            f"database.state = {state!r}, database.recordings_seeded = {seeded!r}"
        )
    mongodb = probe(MONGODB)
    if not mongodb.reachable:
        raise Failure(f"mongodb does not answer a ping: {mongodb.detail}")
