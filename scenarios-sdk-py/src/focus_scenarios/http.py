"""HTTP to any service the environment declares: :class:`Request`, :class:`Response`,
:func:`send` and :func:`on_rollback`.

The host sends exactly one attempt and measures it: no retries, no redirects. Any HTTP status
is a :class:`Response`; a refused or reset connection, or no answer in time, raises a
:class:`~focus_scenarios.HostError` (``HostFailed`` or ``HostTimeout``), not a status. To poll
across a refused connection, catch it inside the check you give :func:`wait_until`.
"""

from __future__ import annotations

import json as _json
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import Enum
from typing import Any, List, Optional, Tuple

from . import _wit
from .clock import from_nanos, to_nanos
from .errors import Failure, host_call


class Method(Enum):
    """The request method."""

    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    HEAD = "HEAD"
    OPTIONS = "OPTIONS"


@dataclass(frozen=True)
class Request:
    """One HTTP request to a declared service, built fluently::

        Request.post("focus-server", "/configure?task_id=t1").json(body).timeout(seconds(10)).send()
    """

    service: str
    method: Method
    path: str
    headers: Tuple[Tuple[str, str], ...] = ()
    body: bytes = b""
    timeout_: Optional[timedelta] = None

    @staticmethod
    def get(service: str, path: str) -> "Request":
        """``GET path`` on `service`."""
        return Request(service, Method.GET, path)

    @staticmethod
    def post(service: str, path: str) -> "Request":
        """``POST path`` on `service`."""
        return Request(service, Method.POST, path)

    @staticmethod
    def put(service: str, path: str) -> "Request":
        """``PUT path`` on `service`."""
        return Request(service, Method.PUT, path)

    @staticmethod
    def patch(service: str, path: str) -> "Request":
        """``PATCH path`` on `service`."""
        return Request(service, Method.PATCH, path)

    @staticmethod
    def delete(service: str, path: str) -> "Request":
        """``DELETE path`` on `service`."""
        return Request(service, Method.DELETE, path)

    def header(self, name: str, value: str) -> "Request":
        """The request with one more header (a name may repeat)."""
        return replace(self, headers=self.headers + ((name, value),))

    def json(self, value: Any) -> "Request":
        """The request with `value` as its JSON body (a ``str`` is sent as it is, so invalid
        bodies can be tested too) and ``content-type: application/json``."""
        text = value if isinstance(value, str) else _json.dumps(value)
        return replace(self, body=text.encode()).header("content-type", "application/json")

    def with_body(self, body: bytes) -> "Request":
        """The request with `body` sent as it is."""
        return replace(self, body=body)

    def timeout(self, timeout: timedelta) -> "Request":
        """The request with its own time limit instead of the host's."""
        return replace(self, timeout_=timeout)

    def to_wit(self) -> Any:
        """The contract's form of the request."""
        return _wit.http.Request(
            service=self.service,
            method=_wit.http.Method[self.method.name],
            path=self.path,
            headers=list(self.headers),
            body=self.body,
            timeout=None if self.timeout_ is None else to_nanos(self.timeout_),
        )

    def send(self) -> "Response":
        """Sends one attempt; see :func:`send`."""
        return send(self)

    def on_rollback(self) -> None:
        """Registers this request to be sent at rollback; see :func:`on_rollback`."""
        on_rollback(self)


@dataclass(frozen=True)
class Response:
    """One HTTP exchange, as the host measured it."""

    request: str
    """What was asked, for messages: ``POST /configure?task_id=t1``."""
    status: int
    """The HTTP status code."""
    body: bytes = b""
    """The response body."""
    elapsed: timedelta = timedelta(0)
    """Sending the request to the end of the body, of this one attempt."""
    headers: List[Tuple[str, str]] = field(default_factory=list)
    """The headers in order, names in lower case."""

    @property
    def text(self) -> str:
        """The body as text (invalid UTF-8 replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def header(self, name: str) -> Optional[str]:
        """The first header called `name` (any case), or ``None``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def json(self) -> Any:
        """The body parsed as JSON; a :class:`Failure` naming the request when it is not."""
        try:
            return _json.loads(self.body)
        except ValueError as e:
            raise Failure(
                f"{self.request} answered {self.status} with a body that is not JSON: {e}",
                self.text,
            ) from None

    @property
    def retry_after(self) -> Optional[timedelta]:
        """The ``Retry-After`` header in seconds, when there is one."""
        value = self.header("retry-after")
        try:
            return None if value is None else timedelta(seconds=float(value))
        except ValueError:
            return None

    def error_message(self) -> Optional[str]:
        """The ``"error"`` field of a JSON error body, or ``None``."""
        try:
            body = _json.loads(self.body)
        except ValueError:
            return None
        error = body.get("error") if isinstance(body, dict) else None
        return error if isinstance(error, str) else None

    def is_success(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300


def send(request: Request) -> Response:
    """Sends exactly one attempt of `request` and returns what the host measured."""
    answer = host_call(_wit.http.send, request.to_wit())
    return Response(
        request=answer.request,
        status=answer.status,
        body=bytes(answer.body),
        elapsed=from_nanos(answer.elapsed),
        headers=[(k, v) for k, v in answer.headers],
    )


def on_rollback(request: Request) -> None:
    """Registers `request` to be sent once at rollback, whatever the outcome, in reverse order
    with the host's own undo steps. The service is checked now."""
    host_call(_wit.http.on_rollback, request.to_wit())
