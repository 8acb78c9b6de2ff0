//! The host: the contract's imports implemented over an [`Environment`] and the Focus Server's
//! HTTP API, with the allow-list, the rollback journal and a timeout around every call. This
//! is the only module that knows both the engine and the environment; [`run`](crate::run)
//! drives a whole run with it.

pub mod annotations;
mod faults;
mod focus;
pub mod http;
mod imports;
pub mod journal;
mod load;
mod scenario_log;
mod stream;
mod v0_1;
pub mod windows;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::bindings::v0_2::focus::scenario::types::HostError;
use crate::engine::{GuestHost, RunControl};
use crate::env::{EnvError, Environment, EnvironmentInfo};
use crate::run::events::{EventKind, EventSender};
use windows::FaultWindows;

pub use focus::FocusClient;
pub use http::{HttpClient, ServiceRequest};
pub use journal::{Journal, Undo, UndoStep};
pub use scenario_log::{LogLine, MAX_LOG_LINE_BYTES, MAX_LOG_LINES, ScenarioLog};

/// How long host calls may take, apart from the scenario's own deadline.
#[derive(Debug, Clone, Copy)]
pub struct HostLimits {
    /// An environment operation such as `scale` or `pods`.
    pub operation: Duration,
    /// One HTTP request to a service, when the request sets no timeout of its own.
    pub http: Duration,
    /// The ceiling of a load's rate, requests per second (`[runner] load_max_rate`).
    pub load_max_rate: u32,
}

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            operation: Duration::from_secs(30),
            http: Duration::from_secs(60),
            load_max_rate: loadgen::Limits::default().max_rate,
        }
    }
}

/// What every scenario of a run shares: the run id and the parameters.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// This run's id, such as `20261201-113000-7f3a`.
    pub run_id: String,
    /// The parameters, already merged: `[params]`, the environment's, then `--param`.
    pub params: BTreeMap<String, String>,
}

/// The host state of one scenario: what it may touch, what it did and what it said.
pub struct ScenarioHost {
    env: Option<Arc<dyn Environment>>,
    info: Option<EnvironmentInfo>,
    focus: Option<FocusClient>,
    limits: HostLimits,
    control: Option<RunControl>,
    started: Instant,
    run: Arc<RunContext>,
    /// A steady-state hypothesis may look, not change: every mutation is `not-permitted`.
    hypothesis: bool,
    /// The parameters the scenario read, in order, with the value it got (`None`: not set).
    pub params_read: Vec<(String, Option<String>)>,
    /// The mutations to undo, oldest first.
    pub journal: Journal,
    /// The scenario's log lines and the host's notes.
    pub log: ScenarioLog,
    /// The `annotate` pairs, in order.
    pub annotations: Vec<(String, String)>,
    /// The message sent through `report-panic`.
    pub panic: Option<String>,
    /// Where this scenario's run events go.
    events: EventSender,
    /// The changes to the environment still in place, for the run events.
    pub windows: FaultWindows,
    /// How many requests the scenario sent, to number them in the run events.
    requests: u64,
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
            run: Arc::default(),
            hypothesis: false,
            params_read: Vec::new(),
            journal: Journal::default(),
            log: ScenarioLog::default(),
            annotations: Vec::new(),
            panic: None,
            events: EventSender::detached(),
            windows: FaultWindows::default(),
            requests: 0,
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
            run: Arc::default(),
            hypothesis: false,
            params_read: Vec::new(),
            journal: Journal::default(),
            log: ScenarioLog::default(),
            annotations: Vec::new(),
            panic: None,
            events: EventSender::detached(),
            windows: FaultWindows::default(),
            requests: 0,
        }
    }

    /// The same host with the run's id and parameters.
    pub fn with_run(mut self, run: Arc<RunContext>) -> Self {
        self.run = run;
        self
    }

    /// The same host, emitting its run events (log lines, host calls, requests, changes to
    /// the environment) to `events`.
    pub fn with_events(mut self, events: EventSender) -> Self {
        self.events = events;
        self
    }

    /// The same host for a steady-state hypothesis: it may read and send requests, but every
    /// mutation of the environment, and `on-rollback`, is `not-permitted`.
    pub fn for_hypothesis(mut self) -> Self {
        self.hypothesis = true;
        self
    }

    /// `not-permitted` when this host serves a steady-state hypothesis.
    fn refuse_in_hypothesis(&self, what: &str) -> Result<(), HostError> {
        if self.hypothesis {
            Err(HostError::NotPermitted(format!(
                "{what} changes the environment, which a steady-state hypothesis may not do"
            )))
        } else {
            Ok(())
        }
    }

    /// Adds a line to the scenario's log.
    fn note(&mut self, level: &'static str, message: String) {
        self.log.push(self.started.elapsed(), level, message);
        if let Some(line) = self.log.lines().last() {
            self.events.emit(EventKind::Log {
                level,
                message: line.message.clone(),
            });
        }
    }

    /// Numbers a request about to be sent, and emits `request-sent`.
    fn request_sent(&mut self, request_line: &str) -> u64 {
        self.requests += 1;
        self.events.emit(EventKind::RequestSent {
            request: self.requests,
            request_line: crate::guest_text::line(request_line, 512),
        });
        self.requests
    }

    /// Emits `request-answered` for request `number`: its status, or why there was none.
    fn request_answered(&self, number: u64, answer: Result<u16, String>, latency: Duration) {
        let (status, error) = match answer {
            Ok(status) => (Some(status), None),
            Err(error) => (None, Some(error)),
        };
        self.events.emit(EventKind::RequestAnswered {
            request: number,
            status,
            latency,
            error,
        });
    }

    /// The environment, or `not-permitted` when there is none.
    fn env(&self) -> Result<Arc<dyn Environment>, HostError> {
        self.env.clone().ok_or_else(|| {
            HostError::NotPermitted("no environment is open while listing scenarios".into())
        })
    }

    /// Checks `workload` against the allow-list of the environment's configuration.
    fn allow_workload(&self, workload: &str) -> Result<Arc<dyn Environment>, HostError> {
        self.allow("workload", workload, |info| &info.workloads)
    }

    /// Checks `service` against the allow-list of the environment's configuration.
    fn allow_service(&self, service: &str) -> Result<Arc<dyn Environment>, HostError> {
        self.allow("service", service, |info| &info.services)
    }

    /// The one allow-list check: `name` must be in the environment's list of `what`s.
    fn allow(
        &self,
        what: &str,
        name: &str,
        list: impl Fn(&EnvironmentInfo) -> &Vec<String>,
    ) -> Result<Arc<dyn Environment>, HostError> {
        let env = self.env()?;
        let info = self.info.as_ref().expect("info is set with env");
        if list(info).iter().any(|item| item == name) {
            Ok(env)
        } else {
            let name = crate::guest_text::line(name, 256);
            Err(HostError::NotPermitted(format!(
                "{what} `{name}` is not declared in environment `{}`; it declares: {}",
                info.name,
                list_or_none(list(info))
            )))
        }
    }

    /// Runs `call` within `limit` and within the scenario's deadline. Past `limit`, the guest
    /// gets a `timeout` error; past the deadline, the guest is ended with a timeout trap,
    /// because epochs do not interrupt a host call.
    async fn bounded<T, E: TimeoutError + std::fmt::Debug>(
        &self,
        what: &str,
        limit: Duration,
        call: impl Future<Output = Result<T, E>>,
    ) -> wasmtime::Result<Result<T, E>> {
        let started = Instant::now();
        let result = self.bounded_quietly(what, limit, call).await;
        self.events.emit(EventKind::HostCall {
            call: crate::guest_text::line(what, 512),
            took: started.elapsed(),
            error: match &result {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(crate::guest_text::line(&format!("{e:?}"), 1024)),
                Err(trap) => Some(crate::guest_text::line(&trap.to_string(), 1024)),
            },
        });
        result
    }

    /// [`bounded`](Self::bounded) without its `host-call` event.
    async fn bounded_quietly<T, E: TimeoutError>(
        &self,
        what: &str,
        limit: Duration,
        call: impl Future<Output = Result<T, E>>,
    ) -> wasmtime::Result<Result<T, E>> {
        let remaining = self.remaining();
        if limit < remaining {
            match tokio::time::timeout(limit, call).await {
                Ok(result) => Ok(result),
                Err(_) => Ok(Err(E::timeout(format!(
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

/// A contract version's `host-error`, which has a `timeout` case.
pub(crate) trait TimeoutError {
    /// The `timeout` case with `message`.
    fn timeout(message: String) -> Self;
}

impl TimeoutError for HostError {
    fn timeout(message: String) -> Self {
        Self::Timeout(message)
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
