"""The contract's generated bindings, imported in one place.

componentize-py writes the package ``wit_world`` from ``wit/scenario.wit`` when it builds a
component (``scenario-runner`` runs it), so the bindings are never committed and cannot be
stale. The SDK's own tests generate them into a scratch folder (see ``tests/run``).
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import suite
from wit_world.imports import http, runtime, services, types, workloads

__all__ = ["Err", "exports", "http", "runtime", "services", "suite", "types", "workloads"]
