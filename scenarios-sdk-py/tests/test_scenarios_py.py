"""scenarios-py/ holds the tickets' scenarios with their Rust twins' names, keys, tags and
timeouts (scenarios/src/), and one steady state; the template's package registers too."""

from __future__ import annotations

import importlib
import sys
import unittest
from pathlib import Path

import fake_host  # noqa: F401  (the generated imports must exist before the modules load)

from focus_scenarios import registered
from focus_scenarios import suite as sdk_suite

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "focus_server_fast_failover": ("PZ-13640", ("p0", "sla"), 60),
    "mongodb_pod_restart_resilience": (None, ("p2", "mongodb"), 120),
    "mongodb_network_block_returns_503": (None, ("p1", "mongodb", "network"), 90),
    "live_configure_unaffected_by_mongodb_outage": (None, ("p1", "mongodb"), 90),
}


class ScenariosPy(unittest.TestCase):
    def test_the_tickets_with_their_twins_keys_and_tags(self) -> None:
        sys.path.insert(0, str(ROOT / "scenarios-py"))
        for module in ["checks", "outage", "recovery", "live"]:
            importlib.import_module(module)
        found = {s.name: s for s in registered() if s.name in EXPECTED}
        self.assertEqual(set(found), set(EXPECTED))
        for name, (key, tags, timeout_s) in EXPECTED.items():
            scenario = found[name]
            self.assertEqual(
                (scenario.key, scenario.tags, scenario.timeout.total_seconds()),
                (key, tags, timeout_s),
                name,
            )
            self.assertTrue(scenario.description, name)
        self.assertEqual(len(sdk_suite._STEADY_STATE), 1)


if __name__ == "__main__":
    unittest.main()
