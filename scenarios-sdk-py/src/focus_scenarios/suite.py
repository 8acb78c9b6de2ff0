"""Registration and the component's export: :func:`scenario`, :func:`steady_state`, and the
``Suite`` class that componentize-py exports for the contract's ``suite`` interface.

How a scenario ends, and what the report shows:

| the function | outcome | JUnit |
|---|---|---|
| returns | ``passed`` | a testcase without a child |
| raises :class:`Failure`, or an ``assert`` fails | ``failed`` | ``<failure>`` |
| raises :class:`Skip` or :class:`Unsupported` | ``skipped`` | ``<skipped>`` |
| raises another :class:`HostError` | ``error(host-error)`` | ``<error type="host-error">`` |
| raises anything else | the traceback goes to ``report-panic``, then the guest traps | ``<error type="exception">`` |
"""

from __future__ import annotations

import inspect
import re
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, Union, overload

from . import _wit
from .clock import Timeout, as_timedelta, to_nanos
from .errors import Failure, HostError, Skip, Unsupported, to_wit

F = TypeVar("F", bound=Callable[[], Any])

EXCEPTION_MARKER = "exception: "
"""How the message sent through ``report-panic`` for an uncaught exception starts; the runner
reports such a trap as ``<error type="exception">``."""


@dataclass(frozen=True)
class Scenario:
    """One registered scenario; :func:`scenario` makes it."""

    name: str
    description: str
    tags: Tuple[str, ...]
    key: Optional[str]
    timeout: Optional[timedelta]
    function: Callable[[], Any] = field(compare=False)


_SCENARIOS: Dict[str, Scenario] = {}
_STEADY_STATE: List[Callable[[], Any]] = []
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _description(function: Callable[[], Any]) -> str:
    doc = inspect.getdoc(function) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def _register(function: F, tags: Tuple[str, ...], key: Optional[str], timeout: Optional[Timeout],
              name: Optional[str], description: Optional[str]) -> F:
    name = name or function.__name__
    if not _NAME.match(name):
        raise ValueError(f"scenario name {name!r} is not an identifier in snake case")
    if name in _SCENARIOS:
        raise ValueError(f"two scenarios are called {name!r}; names must be unique in a component")
    _SCENARIOS[name] = Scenario(
        name=name,
        description=description if description is not None else _description(function),
        tags=tuple(tags),
        key=key,
        timeout=None if timeout is None else as_timedelta(timeout),
        function=function,
    )
    return function


@overload
def scenario(function: F) -> F: ...
@overload
def scenario(*, tags: Tuple[str, ...] | List[str] = (), key: Optional[str] = None,
             timeout: Optional[Timeout] = None, name: Optional[str] = None,
             description: Optional[str] = None) -> Callable[[F], F]: ...


def scenario(function: Optional[F] = None, *, tags: Union[Tuple[str, ...], List[str]] = (),
             key: Optional[str] = None, timeout: Optional[Timeout] = None,
             name: Optional[str] = None, description: Optional[str] = None) -> Any:
    """Registers a function as a scenario of this component, by its name::

        @scenario(tags=["p0", "sla"], key="PZ-13640", timeout="60s")
        def focus_server_fast_failover():
            \"\"\"With MongoDB scaled to 0, a historic POST /configure answers 503 within 5 s.\"\"\"

    The description is the docstring's first paragraph unless `description` is given. A
    malformed timeout or a repeated name fails the build, naming the file and line.
    """
    if function is not None:
        return _register(function, (), None, None, None, None)
    return lambda f: _register(f, tuple(tags), key, timeout, name, description)


def steady_state(function: F) -> F:
    """Registers the component's steady-state hypothesis: the runner polls it before each
    scenario and after its rollback, and runs no scenario until it holds. It holds when it
    returns; it does not when it raises a :class:`Failure` (or an ``assert`` fails)."""
    if _STEADY_STATE:
        raise ValueError("a component has one steady state; it is declared twice")
    _STEADY_STATE.append(function)
    return function


def registered() -> List[Scenario]:
    """The scenarios registered so far, in the order they were defined."""
    return list(_SCENARIOS.values())


def _where(tb: Optional[TracebackType]) -> Tuple[str, int, str, str]:
    frames = traceback.extract_tb(tb)
    if not frames:
        return ("?", 0, "?", "")
    last = frames[-1]
    return (_short_path(last.filename), last.lineno or 0, last.name, (last.line or "").strip())


def _short_path(path: str) -> str:
    """componentize-py compiles each Python path as ``/N/…``; the rest is the package's path."""
    return re.sub(r"^/\d+/", "", path)


def _assertion(error: AssertionError) -> Tuple[str, Optional[str]]:
    path, line, function, source = _where(error.__traceback__)
    where = f"at {path}:{line} in {function}"
    if str(error):
        return str(error), where
    return (f"check failed: {source}" if source else f"assertion failed {where}"), where


def outcome_of(function: Callable[[], Any]) -> Any:
    """Runs `function` and gives the contract's outcome for how it ended. Exceptions that are
    not failures, skips or host errors are left to propagate."""
    try:
        function()
        return _wit.suite.Outcome_Passed()
    except Failure as failure:
        return _wit.suite.Outcome_Failed(_wit.suite.Failure(failure.message, failure.detail))
    except AssertionError as error:
        message, detail = _assertion(error)
        return _wit.suite.Outcome_Failed(_wit.suite.Failure(message.split("\n")[0], detail))
    except Skip as skipped:
        return _wit.suite.Outcome_Skipped(" ".join(skipped.reason.split()))
    except Unsupported as error:
        return _wit.suite.Outcome_Skipped(f"the environment cannot do this: {error.message}")
    except HostError as error:
        return _wit.suite.Outcome_Error(to_wit(error))


def exception_report(error: BaseException) -> str:
    """The text sent through ``report-panic`` for an uncaught exception: one line starting with
    :data:`EXCEPTION_MARKER` (type, message, where), then the whole traceback."""
    path, line, function, _ = _where(error.__traceback__)
    first = " ".join(str(error).split())
    head = f"{EXCEPTION_MARKER}{type(error).__name__}" + (f": {first}" if first else "")
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"{head} (at {path}:{line} in {function})\n{text}"


def _guarded(function: Callable[[], Any]) -> Any:
    try:
        return outcome_of(function)
    except BaseException as error:
        _wit.runtime.report_panic(exception_report(error))
        raise


class Suite(_wit.exports.Suite):
    """The component's export of the contract's ``suite`` interface, over the registered
    scenarios. The entry module that ``scenario-runner`` generates imports it; scenario
    modules need not."""

    def scenarios(self) -> List[Any]:
        """The registered scenarios' descriptions."""
        return [
            _wit.suite.Meta(
                name=s.name,
                description=s.description,
                tags=list(s.tags),
                key=s.key,
                timeout=None if s.timeout is None else to_nanos(s.timeout),
            )
            for s in _SCENARIOS.values()
        ]

    def run(self, name: str) -> Any:
        """Runs the scenario called `name`; an unknown name is a failed outcome listing them."""
        found = _SCENARIOS.get(name)
        if found is None:
            held = ", ".join(_SCENARIOS) or "nothing"
            return _wit.suite.Outcome_Failed(_wit.suite.Failure(
                f"this component has no scenario named `{name}`",
                f"It holds: {held}. Is its module listed in [tool.focus-scenarios] modules?",
            ))
        return _guarded(found.function)

    def steady_state(self) -> Optional[Any]:
        """Checks the steady-state hypothesis once; ``None`` when none is declared."""
        if not _STEADY_STATE:
            return None
        return _guarded(_STEADY_STATE[0])
