//! The Focus Server outage scenarios from the QA tickets, as one WebAssembly component.
//!
//! Names, keys and tags match the QA team's existing tests. Every scenario starts from the
//! suite's steady state ([`focus_server_sees_database`]), which the runner checks before it and
//! after its rollback, so no scenario depends on another or on the run order. Restoring is the
//! runner's rollback; jobs a scenario starts are stopped then too. Each scenario skips itself,
//! with the reason, where the environment lacks what it needs.
//!
//! The SLA scenarios take their limit from the parameter `sla_s` (5 s unless the run sets
//! `--param sla_s=…`).
//!
//! Run them all with `scenario-runner run scenarios/`, or one with
//! `scenario-runner run scenarios/ --scenario focus_server_fast_failover`.

use scenarios_sdk::prelude::*;

pub mod checks;
pub mod database;
pub mod jobs;
pub mod live;
pub mod load;
pub mod memory;
pub mod network;
pub mod outage;
pub mod recordings;
pub mod recovery;
pub mod smoke;
pub mod validation;

/// The suite's steady state: the Focus Server reports its database up and its recordings
/// seeded, and MongoDB answers a ping. A scenario starts from a server that sees MongoDB and
/// can answer historic configures, not from the tail of another scenario's outage.
#[steady_state]
pub fn focus_server_sees_database() -> Outcome {
    focus_server_steady_state()
}

scenarios_sdk::export_scenarios!();

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// The names, keys and tags of issues 6, 9 and 10, which match the QA team's existing tests.
    const EXPECTED: [(&str, Option<&str>, &[&str]); 19] = [
        (
            "mongodb_scale_down_outage_returns_503_no_orchestration",
            Some("PZ-13640"),
            &["p0", "mongodb", "sla"],
        ),
        (
            "mongodb_pod_deletion_outage_returns_503_no_orchestration",
            None,
            &["p2", "mongodb", "kubernetes"],
        ),
        ("mongodb_pod_restart_resilience", None, &["p2", "mongodb"]),
        (
            "mongodb_network_block_returns_503",
            None,
            &["p1", "mongodb", "network"],
        ),
        (
            "focus_server_fast_failover",
            Some("PZ-13640"),
            &["p0", "sla"],
        ),
        ("focus_server_recovers_after_mongodb_restore", None, &["p1"]),
        ("no_memory_growth_during_outage", None, &["p1", "memory"]),
        (
            "invalid_roi_rejected_with_400_during_outage",
            None,
            &["p1", "validation"],
        ),
        ("configure_happy_path_orchestrates_job", None, &["smoke"]),
        (
            "live_configure_unaffected_by_mongodb_outage",
            None,
            &["p1", "mongodb"],
        ),
        (
            "slow_mongodb_does_not_break_sla",
            None,
            &["p1", "mongodb", "network", "fault"],
        ),
        (
            "bandwidth_limited_mongodb",
            None,
            &["p2", "mongodb", "network", "fault"],
        ),
        (
            "live_stream_continues_during_mongodb_outage",
            None,
            &["p1", "mongodb", "stream"],
        ),
        ("legacy_config_endpoint_ticket_payload", None, &["smoke"]),
        ("basic_connectivity", None, &["smoke"]),
        ("job_stop_releases_resources", None, &["smoke", "jobs"]),
        (
            "recordings_lookup_fails_fast_when_mongodb_down",
            None,
            &["p1", "mongodb", "recordings"],
        ),
        (
            "mongodb_flapping_under_load",
            None,
            &["p1", "mongodb", "network", "fault", "load"],
        ),
        (
            "outage_under_load_p99",
            None,
            &["p1", "mongodb", "sla", "load"],
        ),
    ];

    #[test]
    fn the_suite_holds_the_tickets_scenarios_with_their_keys_and_tags() {
        let registered: BTreeMap<&str, _> = scenarios_sdk::registered_scenarios()
            .into_iter()
            .map(|s| (s.name, s))
            .collect();
        assert_eq!(
            registered.len(),
            EXPECTED.len(),
            "duplicate or missing names: {:?}",
            registered.keys().collect::<Vec<_>>()
        );
        for (name, key, tags) in EXPECTED {
            let scenario = registered
                .get(name)
                .unwrap_or_else(|| panic!("{name} is not registered"));
            assert_eq!(scenario.key, key, "{name}");
            assert_eq!(scenario.tags, tags, "{name}");
            assert!(scenario.timeout.is_some(), "{name} declares no timeout");
            assert!(
                !scenario.description.is_empty(),
                "{name} has no description"
            );
        }
    }
}
