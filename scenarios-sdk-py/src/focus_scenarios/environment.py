"""What the environment is and can do: :func:`environment`, :class:`Capability`,
:func:`require`, :func:`param` and :func:`run_id`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import FrozenSet, List, Optional

from . import _wit
from .errors import Skip


class Capability(Enum):
    """What an environment can do; the value is the contract's name."""

    SCALE = "scale"
    DELETE_POD = "delete-pod"
    BLOCK_BLACKHOLE = "block-blackhole"
    BLOCK_REFUSE = "block-refuse"
    MEMORY = "memory"
    FAULT_LATENCY = "fault-latency"
    FAULT_BANDWIDTH = "fault-bandwidth"
    FAULT_BLACKHOLE = "fault-blackhole"
    FAULT_RESET_PEER = "fault-reset-peer"
    FAULT_SLOW_CLOSE = "fault-slow-close"
    FAULT_SLICER = "fault-slicer"
    FAULT_LIMIT_DATA = "fault-limit-data"
    LOAD = "load"
    WATCH_STREAM = "watch-stream"


@dataclass(frozen=True)
class Environment:
    """The environment the scenario runs against."""

    name: str
    """Its name in the runner's configuration, such as ``local``."""
    kind: str
    """``local``, ``kubernetes`` or ``memory``."""
    capabilities: FrozenSet[Capability]
    """What it can do."""
    workloads: List[str] = field(default_factory=list)
    """The workloads a scenario may touch."""
    services: List[str] = field(default_factory=list)
    """The services a scenario may probe or send HTTP requests to."""
    run_id: str = ""
    """This run's id, the same for every scenario of the run."""

    def supports(self, capability: Capability) -> bool:
        """Whether the environment can do `capability`."""
        return capability in self.capabilities

    def require(self, *capabilities: Capability) -> None:
        """Skips the scenario, saying why, unless the environment can do every one."""
        for capability in capabilities:
            if capability not in self.capabilities:
                raise Skip(
                    f"environment `{self.name}` ({self.kind}) cannot do `{capability.value}`"
                )


def _capabilities(flags: object) -> FrozenSet[Capability]:
    found = set()
    for capability in Capability:
        flag = getattr(_wit.runtime.Capabilities, capability.name, None)
        if flag is not None and flag in flags:  # type: ignore[operator]
            found.add(capability)
    return frozenset(found)


def environment() -> Environment:
    """Describes the environment: name, kind, capabilities, workloads, services and run id."""
    info = _wit.runtime.environment()
    return Environment(
        name=info.name,
        kind=info.kind,
        capabilities=_capabilities(info.capabilities),
        workloads=list(info.workloads),
        services=list(info.services),
        run_id=info.run_id,
    )


def require(*capabilities: Capability) -> None:
    """Skips the scenario unless the environment can do every capability:
    ``require(Capability.SCALE, Capability.DELETE_POD)``."""
    environment().require(*capabilities)


def param(name: str, default: Optional[str] = None) -> Optional[str]:
    """The value of parameter `name` (``run --param name=value``, the environment's or the
    configuration's ``[params]``), or `default` when it is not set. The values a scenario read
    go into its JUnit properties."""
    value = _wit.runtime.param(name)
    return default if value is None else value


def param_float(name: str, default: float) -> float:
    """Parameter `name` as a number, or `default` when it is not set; a malformed value fails
    the scenario with a message naming the parameter."""
    from .errors import Failure

    value = param(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise Failure(f"parameter {name} = {value!r} is not a number") from None


def run_id() -> str:
    """This run's id, the same for every scenario of the run, such as ``20261201-113000-7f3a``."""
    return _wit.runtime.environment().run_id
