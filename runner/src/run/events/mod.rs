//! Run events, the one source every report reads (cargo-nextest's model): the run emits a typed
//! [`RunEvent`] for each thing that happens, with a monotonic time, and each [`Reporter`] (the
//! progress display, the JUnit writer, the JSON Lines file, the HTML report) consumes them in
//! order on a task of its own. None of them reaches into the session.
//!
//! The JSON form of an event is its schema, version [`SCHEMA_VERSION`], documented in the
//! README: `{"t": 1.234, "suite": "…", "scenario": "…", "event": "fault-applied", …}`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};

use crate::report::{CaseOutcome, CaseReport, Counts, ErrorKind};

mod hub;

pub use hub::{EventHub, EventSender, Reporter};

/// The version of the events' JSON schema; it grows by adding fields and events, and changes
/// only when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// How many detail events (host calls, requests, log lines) one scenario may emit; the rest are
/// counted in its `scenario-finished` event's `events_dropped`.
pub const MAX_DETAIL_EVENTS: u64 = 20_000;

/// One thing that happened in a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunEvent {
    /// Since the run started, on a monotonic clock (seconds in JSON).
    #[serde(serialize_with = "secs")]
    pub t: Duration,
    /// The component the event belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "shared_str")]
    pub suite: Option<Arc<str>>,
    /// The scenario the event belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "shared_str")]
    pub scenario: Option<Arc<str>>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened: the `event` field of the JSON form, and its own fields.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    /// The run began.
    RunStarted {
        /// [`SCHEMA_VERSION`].
        schema: u32,
        /// The runner's version.
        runner: &'static str,
        /// The environment's name.
        environment: String,
        /// The run's id.
        run_id: String,
        /// The wall-clock start (RFC 3339 in UTC in JSON).
        #[serde(serialize_with = "rfc3339")]
        started: SystemTime,
    },
    /// A component file was loaded; `scenarios` are those selected to run.
    ComponentLoaded {
        /// Its file.
        path: PathBuf,
        /// The selected scenarios, in the order they will run.
        scenarios: Vec<String>,
    },
    /// The environment is open and ready for the first scenario.
    EnvironmentReady {
        /// Its workloads.
        workloads: Vec<String>,
        /// Its services.
        services: Vec<String>,
    },
    /// A scenario is about to be checked and run.
    ScenarioStarted {
        /// Its issue key.
        #[serde(skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// Its tags.
        tags: Vec<String>,
    },
    /// The steady state was checked: before the scenario, or after its rollback.
    SteadyState {
        /// Before or after.
        phase: Phase,
        /// Whether it held.
        held: bool,
        /// How long the wait took (seconds in JSON).
        #[serde(serialize_with = "secs")]
        took: Duration,
        /// Why it did not hold.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// A host call the scenario made that touches the environment or a service.
    HostCall {
        /// What it asked for, in short: `scale mongodb to 0`.
        call: String,
        /// How long it took (seconds in JSON).
        #[serde(serialize_with = "secs")]
        took: Duration,
        /// The error it returned, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A change to the environment began: the start of a band in the report's timeline.
    FaultApplied {
        /// Its number within the scenario.
        fault: u64,
        /// The workload it changed.
        workload: String,
        /// What kind of change.
        kind: FaultKind,
        /// In words: `mongodb scaled to 0`, `latency 3000 ms ± 200 ms, both, 100 %`.
        label: String,
    },
    /// A change ended: the scenario undid it, or the rollback did.
    FaultRemoved {
        /// The number of its `fault-applied`.
        fault: u64,
        /// Who ended it.
        by: RemovedBy,
    },
    /// A request to a service was sent.
    RequestSent {
        /// Its number within the scenario.
        request: u64,
        /// `GET /health on focus-server`.
        request_line: String,
    },
    /// A request was answered, or failed without an answer.
    RequestAnswered {
        /// The number of its `request-sent`.
        request: u64,
        /// The status, when there was an answer.
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// From send to answer (seconds in JSON).
        #[serde(serialize_with = "secs")]
        latency: Duration,
        /// Why there was no answer.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// An `annotate` pair.
    Annotation {
        /// The key.
        key: String,
        /// The value (capped).
        value: String,
    },
    /// A line of the scenario's log: its own, or `HOST` for what the host did.
    Log {
        /// `DEBUG`, `INFO`, `WARN`, `ERROR` or `HOST`.
        level: &'static str,
        /// The text.
        message: String,
    },
    /// A step of the rollback ended.
    UndoStep {
        /// 1-based, in the order of undoing.
        index: usize,
        /// How many steps there are.
        count: usize,
        /// What was undone: `scale mongodb back to 1 replica`.
        step: String,
        /// What came back, such as an HTTP step's status.
        #[serde(skip_serializing_if = "Option::is_none")]
        answer: Option<String>,
        /// How long it took (seconds in JSON).
        #[serde(serialize_with = "secs")]
        took: Duration,
        /// Why it failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A scenario ended, with its report case.
    ScenarioFinished {
        /// The case: in JSON, its outcome, kind, message, duration and properties.
        #[serde(flatten)]
        case: FinishedCase,
        /// The component's file.
        path: PathBuf,
        /// Detail events left out past [`MAX_DETAIL_EVENTS`].
        events_dropped: u64,
    },
    /// The run ended.
    RunFinished {
        /// How many scenarios ended each way.
        counts: Counts,
        /// Whether a signal cut it short.
        interrupted: bool,
    },
}

/// When a steady state was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Before the scenario.
    Before,
    /// After its rollback.
    After,
}

/// Who ended a change to the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemovedBy {
    /// The scenario itself.
    Scenario,
    /// The rollback.
    Rollback,
}

/// The kinds of change a timeline shows as bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// A workload's replica count changed.
    Scale,
    /// A workload's network was blocked.
    Block,
    /// A pod was deleted; the band lasts until its replacement is ready.
    PodDeleted,
    /// A fault in front of a workload: latency, bandwidth, blackhole, ….
    Network,
    /// A background load ran.
    Load,
}

fn shared_str<S: Serializer>(text: &Option<Arc<str>>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(text.as_deref().unwrap_or_default())
}

fn rfc3339<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let t = chrono::DateTime::<chrono::Utc>::from(*t);
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e6)
}

/// A finished scenario's report case, shared by every reporter. Its JSON form is a summary:
/// `outcome`, `kind`, `message`, `duration_s` and `properties`.
#[derive(Debug, Clone)]
pub struct FinishedCase(pub Arc<CaseReport>);

impl Serialize for FinishedCase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        case_summary(&self.0, s)
    }
}

fn case_summary<S: Serializer>(case: &CaseReport, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Summary<'a> {
        outcome: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        kind: Option<ErrorKind>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<&'a str>,
        duration_s: f64,
        properties: &'a [(String, String)],
    }
    let (kind, message) = match &case.outcome {
        CaseOutcome::Passed => (None, None),
        CaseOutcome::Skipped { reason } => (None, Some(reason.as_str())),
        CaseOutcome::Failed { message, .. } => (None, Some(message.as_str())),
        CaseOutcome::Error { kind, message, .. } => (Some(*kind), Some(message.as_str())),
    };
    Summary {
        outcome: case.outcome.label(),
        kind,
        message,
        duration_s: case.elapsed.as_secs_f64(),
        properties: &case.properties,
    }
    .serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_form_names_the_event_and_its_scenario() {
        let event = RunEvent {
            t: Duration::from_micros(1_234_567),
            suite: Some("tickets".into()),
            scenario: Some("fast_failover".into()),
            kind: EventKind::FaultApplied {
                fault: 1,
                workload: "mongodb".into(),
                kind: FaultKind::Scale,
                label: "mongodb scaled to 0".into(),
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "t": 1.234567, "suite": "tickets", "scenario": "fast_failover",
                "event": "fault-applied", "fault": 1, "workload": "mongodb",
                "kind": "scale", "label": "mongodb scaled to 0"
            })
        );
    }
}
