"""How a scenario stops early: :class:`Failure`, :class:`Skip` and the :class:`HostError` kinds.

| what is raised | the JUnit report shows |
|---|---|
| :class:`Failure`, or a plain ``assert`` that does not hold | ``<failure>`` |
| :class:`Skip`, or an :class:`Unsupported` host error | ``<skipped>`` |
| any other :class:`HostError` | ``<error type="host-error">`` |
| any other exception | ``<error type="exception">`` with its traceback |
"""

from __future__ import annotations

from typing import Callable, NoReturn, Optional, TypeVar

from . import _wit

T = TypeVar("T")


class Failure(AssertionError):
    """A check that did not hold: a one-line message saying what was expected and what
    happened, and an optional detail for the report (such as a response body).

    A message of several lines keeps its first line as the message and moves the rest to the
    detail, so the report's message stays one line.

    >>> Failure("bad body\\nline two").detail
    'line two'
    """

    def __init__(self, message: str, detail: Optional[str] = None) -> None:
        first, _, rest = message.partition("\n")
        self.message: str = first.rstrip()
        self.detail: Optional[str] = rest or None
        if detail is not None:
            self.with_detail(detail)
        super().__init__(self.message)

    def with_detail(self, detail: str) -> "Failure":
        """Adds text for the report after any detail already there, and returns the failure."""
        self.detail = detail if self.detail is None else f"{self.detail}\n{detail}"
        return self


class Skip(Exception):
    """Ends a scenario as skipped, with the reason: the environment lacks what it needs.
    A skip is never a pass."""

    def __init__(self, reason: str) -> None:
        self.reason: str = reason
        super().__init__(reason)


def skip(reason: str) -> NoReturn:
    """Skips the scenario with `reason`: ``skip("needs a Kubernetes environment")``."""
    raise Skip(reason)


def fail(message: str, detail: Optional[str] = None) -> NoReturn:
    """Fails the scenario at once with `message` (and an optional `detail` for the report)."""
    raise Failure(message, detail)


class HostError(Exception):
    """Why a host call did not do what was asked. Every kind carries the host's one-line
    message, which names the operation, its target and what to try.

    Raised out of a scenario, an :class:`Unsupported` error skips it; every other kind ends it
    as an error of the run (``<error type="host-error">``), not as a failed check. Catch it to
    handle it yourself, as polling across a refused connection does.
    """

    kind: str = "failed"
    """The contract's name for this kind, such as ``not-permitted``."""

    def __init__(self, message: str) -> None:
        self.message: str = message
        super().__init__(f"{self.kind}: {message}")


class NotPermitted(HostError):
    """The workload, service or path is not declared, or the credentials do not allow it."""

    kind = "not-permitted"


class NotFound(HostError):
    """The target does not exist: an unknown job, a pod that has gone, a removed fault."""

    kind = "not-found"


class Unsupported(HostError):
    """The environment cannot do this at all; the scenario is skipped."""

    kind = "unsupported"


class HostTimeout(HostError):
    """The operation did not finish within its deadline."""

    kind = "timeout"


class Invalid(HostError):
    """The arguments are out of range or malformed."""

    kind = "invalid"


class HostFailed(HostError):
    """Anything else that went wrong, with the underlying error."""

    kind = "failed"


_KINDS: dict[type, type[HostError]] = {
    _wit.types.HostError_NotPermitted: NotPermitted,
    _wit.types.HostError_NotFound: NotFound,
    _wit.types.HostError_Unsupported: Unsupported,
    _wit.types.HostError_Timeout: HostTimeout,
    _wit.types.HostError_Invalid: Invalid,
    _wit.types.HostError_Failed: HostFailed,
}


def from_wit(error: object) -> HostError:
    """The SDK's exception for a generated ``host-error`` value."""
    kind = _KINDS.get(type(error), HostFailed)
    return kind(str(getattr(error, "value", error)))


def to_wit(error: HostError) -> object:
    """The generated ``host-error`` value of `error`, for an ``error`` outcome."""
    for wit_kind, kind in _KINDS.items():
        if type(error) is kind:
            return wit_kind(error.message)
    return _wit.types.HostError_Failed(error.message)


def host_call(function: Callable[..., T], *args: object) -> T:
    """Calls a generated import and turns its ``Err`` into the SDK's :class:`HostError`."""
    try:
        return function(*args)
    except _wit.Err as err:
        raise from_wit(err.value) from None
