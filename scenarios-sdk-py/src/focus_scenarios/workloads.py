"""Workloads and services: :func:`workload` gives a :class:`Workload` to scale, delete pods of,
block and measure; :func:`probe` checks a service. Every mutation is journalled by the host and
undone after the scenario, whatever its outcome, so a scenario need not restore anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import List, Optional

from . import _wit
from .clock import from_nanos, to_nanos
from .errors import host_call


class BlockMode(Enum):
    """How :meth:`Workload.block_network` cuts a workload off."""

    BLACKHOLE = "blackhole"
    """Packets are dropped: clients time out, as under a NetworkPolicy."""
    REFUSE = "refuse"
    """Connections are reset and refused: clients fail at once."""


@dataclass(frozen=True)
class Pod:
    """One running instance of a workload."""

    name: str
    """Such as ``mongodb-7b8f6-xk4m2``; a replacement gets a new name."""
    ready: bool
    """Whether its readiness check passes now."""
    restarts: int
    """How many times its process was restarted in place."""


@dataclass(frozen=True)
class Workload:
    """A deployment of the environment, by name: ``workload("mongodb").scale(0)``."""

    name: str

    def scale(self, replicas: int) -> None:
        """Sets the desired replica count, as ``kubectl scale`` does; returns once accepted."""
        host_call(_wit.workloads.scale, self.name, replicas)

    def replicas(self) -> int:
        """The desired replica count."""
        return host_call(_wit.workloads.replicas, self.name)

    def delete_pod(self) -> str:
        """Deletes the oldest ready pod and returns its name; the environment recreates it."""
        return host_call(_wit.workloads.delete_pod, self.name)

    def pods(self) -> List[Pod]:
        """The pods as they are now, oldest first."""
        found = host_call(_wit.workloads.pods, self.name)
        return [Pod(p.name, p.ready, p.restarts) for p in found]

    def wait_ready(self, timeout: timedelta) -> None:
        """Waits until the desired number of pods is ready; a host timeout after `timeout`."""
        host_call(_wit.workloads.wait_ready, self.name, to_nanos(timeout))

    def block_network(self, mode: BlockMode = BlockMode.BLACKHOLE) -> None:
        """Cuts the workload off the network until :meth:`unblock_network` or the rollback."""
        wit_mode = _wit.workloads.BlockMode[mode.name]
        host_call(_wit.workloads.block_network, self.name, wit_mode)

    def unblock_network(self) -> None:
        """Lifts a block; unblocking an unblocked workload is not an error."""
        host_call(_wit.workloads.unblock_network, self.name)

    def memory(self) -> Optional[int]:
        """Resident memory of its pods in bytes, summed; ``None`` when no pod runs. Raises
        :class:`~focus_scenarios.Unsupported` (a skip) where it cannot be measured."""
        return host_call(_wit.workloads.memory, self.name)


def workload(name: str) -> Workload:
    """The workload `name`, such as ``mongodb`` or ``focus-server``."""
    return Workload(name)


@dataclass(frozen=True)
class ProbeResult:
    """What one probe of a service found."""

    reachable: bool
    """Whether it answered its protocol's health check (for MongoDB a driver ``ping``)."""
    latency: timedelta
    """How long the probe took."""
    detail: str
    """The answer, or the client's error (refused, timed out, …)."""


def probe(service: str) -> ProbeResult:
    """Probes `service` once with a short timeout; unreachable is a result, not an error."""
    found = host_call(_wit.services.probe, service)
    return ProbeResult(found.reachable, from_nanos(found.latency), found.detail)
