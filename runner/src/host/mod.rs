//! The host: the contract's imports implemented over an [`Environment`] and the Focus Server's
//! HTTP API, with the allow-list, the rollback journal and a timeout around every call. This
//! is the only module that knows both the engine and the environment; [`session`] drives a
//! whole run with them.

pub mod annotations;
mod case;
mod focus;
mod imports;
pub mod journal;
pub mod plan;
mod scenario_log;
pub mod session;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::bindings::focus::scenario::types::HostError;
use crate::engine::{GuestHost, RunControl};
use crate::env::{EnvError, Environment, EnvironmentInfo};

pub use focus::FocusClient;
pub use journal::{Journal, Undo, UndoStep};
pub use scenario_log::{LogLine, MAX_LOG_LINE_BYTES, MAX_LOG_LINES, ScenarioLog};

/// How long host calls may take, apart from the scenario's own deadline.
#[derive(Debug, Clone, Copy)]
pub struct HostLimits {
    /// An environment operation such as `scale` or `pods`.
    pub operation: Duration,
    /// One HTTP request to the Focus Server.
    pub http: Duration,
}

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            operation: Duration::from_secs(30),
            http: Duration::from_secs(60),
        }
    }
}

/// The host state of one scenario: what it may touch, what it did and what it said.
pub struct ScenarioHost {
    env: Option<Arc<dyn Environment>>,
    info: Option<EnvironmentInfo>,
    focus: Option<FocusClient>,
    limits: HostLimits,
    control: Option<RunControl>,
    started: Instant,
    /// The mutations to undo, oldest first.
    pub journal: Journal,
    /// The scenario's log lines and the host's notes.
    pub log: ScenarioLog,
    /// The `annotate` pairs, in order.
    pub annotations: Vec<(String, String)>,
    /// The message sent through `report-panic`.
    pub panic: Option<String>,
}

impl ScenarioHost {
    /// A host for one scenario against `env`, bounded by `control`'s deadline.
    pub fn new(
        env: Arc<dyn Environment>,
        focus: FocusClient,
        limits: HostLimits,
        control: RunControl,
    ) -> Self {
        let info = env.info();
        Self {
            env: Some(env),
            info: Some(info),
            focus: Some(focus),
            limits,
            control: Some(control),
            started: Instant::now(),
            journal: Journal::default(),
            log: ScenarioLog::default(),
            annotations: Vec::new(),
            panic: None,
        }
    }

    /// A host with no environment, for listing scenarios: every environment call is
    /// `not-permitted`.
    pub fn detached() -> Self {
        Self {
            env: None,
            info: None,
            focus: None,
            limits: HostLimits::default(),
            control: None,
            started: Instant::now(),
            journal: Journal::default(),
            log: ScenarioLog::default(),
            annotations: Vec::new(),
            panic: None,
        }
    }

    /// Adds a line to the scenario's log.
    fn note(&mut self, level: &'static str, message: String) {
        self.log.push(self.started.elapsed(), level, message);
    }

    /// The environment, or `not-permitted` when there is none.
    fn env(&self) -> Result<Arc<dyn Environment>, HostError> {
        self.env.clone().ok_or_else(|| {
            HostError::NotPermitted("no environment is open while listing scenarios".into())
        })
    }

    /// Checks `workload` against the allow-list of the environment's configuration.
    fn allow_workload(&self, workload: &str) -> Result<Arc<dyn Environment>, HostError> {
        let env = self.env()?;
        let info = self.info.as_ref().expect("info is set with env");
        if info.workloads.iter().any(|w| w == workload) {
            Ok(env)
        } else {
            let workload = crate::guest_text::line(workload, 256);
            Err(HostError::NotPermitted(format!(
                "workload `{workload}` is not declared in environment `{}`; it declares: {}",
                info.name,
                list_or_none(&info.workloads)
            )))
        }
    }

    /// Checks `service` against the allow-list of the environment's configuration.
    fn allow_service(&self, service: &str) -> Result<Arc<dyn Environment>, HostError> {
        let env = self.env()?;
        let info = self.info.as_ref().expect("info is set with env");
        if info.services.iter().any(|s| s == service) {
            Ok(env)
        } else {
            let service = crate::guest_text::line(service, 256);
            Err(HostError::NotPermitted(format!(
                "service `{service}` is not declared in environment `{}`; it declares: {}",
                info.name,
                list_or_none(&info.services)
            )))
        }
    }

    /// Runs `call` within `limit` and within the scenario's deadline. Past `limit`, the guest
    /// gets a `timeout` error; past the deadline, the guest is ended with a timeout trap,
    /// because epochs do not interrupt a host call.
    async fn bounded<T>(
        &self,
        what: &str,
        limit: Duration,
        call: impl Future<Output = Result<T, HostError>>,
    ) -> wasmtime::Result<Result<T, HostError>> {
        let remaining = self.remaining();
        if limit < remaining {
            match tokio::time::timeout(limit, call).await {
                Ok(result) => Ok(result),
                Err(_) => Ok(Err(HostError::Timeout(format!(
                    "{what} did not finish within {}",
                    crate::engine::format_duration(limit)
                )))),
            }
        } else {
            match tokio::time::timeout(remaining, call).await {
                Ok(result) => Ok(result),
                Err(_) => Err(self.deadline_trap(what)),
            }
        }
    }

    /// Time left until the scenario's deadline (an hour when there is none).
    fn remaining(&self) -> Duration {
        match &self.control {
            Some(control) => control.deadline.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        }
    }

    fn deadline_trap(&self, what: &str) -> wasmtime::Error {
        match &self.control {
            Some(control) => control
                .timeout_fault(&format!("while waiting for {what}"))
                .into(),
            None => {
                crate::engine::HostTrap::Deadline(format!("{what} ran past the deadline")).into()
            }
        }
    }
}

impl GuestHost for ScenarioHost {
    fn reported_panic(&self) -> Option<String> {
        self.panic.clone()
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// The contract's error for an environment's error.
pub(crate) fn host_error(error: EnvError) -> HostError {
    match error {
        EnvError::NotPermitted(m) => HostError::NotPermitted(m),
        EnvError::NotFound(m) => HostError::NotFound(m),
        EnvError::Unsupported(m) => HostError::Unsupported(m),
        EnvError::Timeout(m) => HostError::Timeout(m),
        EnvError::Failed(m) => HostError::Failed(m),
    }
}
