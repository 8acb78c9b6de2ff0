"""A stand-in for the host's imports, for the SDK's unit tests on CPython: records calls and
answers what a test sets. (The runner's integration tests run the SDK against the real host.)"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from wit_world.imports import http, runtime, services, workloads

calls: List[Tuple[str, Any]] = []
clock = [0]
answers: Dict[str, Callable[..., Any]] = {}


def _record(name: str, default: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        calls.append((name, args))
        return answers.get(name, default)(*args)

    return call


def _sleep(nanos: int) -> None:
    clock[0] += nanos


def install() -> None:
    """Replaces the generated imports' bodies (which raise NotImplementedError)."""
    calls.clear()
    answers.clear()
    clock[0] = 0
    runtime.now = _record("now", lambda: clock[0])
    runtime.sleep = _record("sleep", _sleep)
    runtime.log = _record("log", lambda level, message: None)
    runtime.annotate = _record("annotate", lambda key, value: None)
    runtime.param = _record("param", lambda name: None)
    runtime.report_panic = _record("report_panic", lambda message: None)
    runtime.wall_clock = _record("wall_clock", lambda: 1_735_689_600_000)
    runtime.environment = _record(
        "environment",
        lambda: runtime.EnvironmentInfo(
            "local", "local", runtime.Capabilities.SCALE, ["mongodb"], ["focus-server"], "run-1"
        ),
    )
    http.send = _record("send", lambda request: http.Response("GET /", 200, [], b"{}", 0))
    http.on_rollback = _record("on_rollback", lambda request: None)
    workloads.scale = _record("scale", lambda name, replicas: None)
    services.probe = _record("probe", lambda name: services.ProbeResult(True, 0, "ok"))
