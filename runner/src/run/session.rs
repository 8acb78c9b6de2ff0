//! A run: load the components, then for each selected scenario check the steady state (the
//! environment's, then the component's hypothesis), run it on a fresh instance, undo its
//! journal in reverse, wait for the steady state again, and turn what happened into a report
//! case. Whatever the outcome, the journal is undone.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::case::{meta_properties, outcome, system_out};
use super::events::{EventKind, EventSender, FinishedCase, Phase};
use crate::engine::{GuestOutcome, Interrupt, LoadedComponent, RunControl, ScenarioMeta};
use crate::env::Environment;
use crate::host::journal::{undo_all, wait_steady};
use crate::host::{FocusClient, HostLimits, RunContext, ScenarioHost};
use crate::report::{CaseOutcome, CaseReport, ErrorKind};

use super::case::load_error_case;
use super::plan::{Engine, PlanEntry};

/// Settings of a run that the engine does not hold.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// `--timeout`: replaces every scenario's own.
    pub timeout_override: Option<Duration>,
    /// For scenarios that declare none.
    pub default_timeout: Duration,
    /// How long to wait for the steady state after a rollback (and before the first scenario).
    pub steady_timeout: Duration,
    /// Limits of host calls.
    pub limits: HostLimits,
    /// How many log lines of each workload go into a failed case's `<system-err>`.
    pub log_tail_lines: usize,
    /// The run's id and parameters, which every scenario sees.
    pub run: Arc<RunContext>,
    /// Whether to check the component's steady-state hypothesis. A dry run does not: the
    /// simulation's answers cannot tell a healthy service from a broken one.
    pub check_hypothesis: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            timeout_override: None,
            default_timeout: Duration::from_secs(120),
            steady_timeout: Duration::from_secs(60),
            limits: HostLimits::default(),
            log_tail_lines: 100,
            run: Arc::default(),
            check_hypothesis: true,
        }
    }
}

/// How often a steady-state hypothesis is checked while it does not hold.
const HYPOTHESIS_POLL: Duration = Duration::from_millis(250);

/// Runs planned scenarios against one environment.
pub struct Session<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// The environment.
    pub env: Arc<dyn Environment>,
    /// The Focus Server client.
    pub focus: FocusClient,
    /// The settings.
    pub settings: SessionSettings,
    /// Set by a signal handler: ends the running scenario and the run.
    pub interrupt: Interrupt,
}

impl Session<'_> {
    /// Runs every selected scenario of `plan`, in order, emitting their events; a file that did
    /// not load was already reported by [`announce`]. Stops after the scenario running when
    /// `interrupt` is triggered, and lists those it did not reach as skipped.
    pub async fn run(&self, plan: &[PlanEntry], events: &EventSender) {
        let info = self.env.info();
        events.emit(EventKind::EnvironmentReady {
            workloads: info.workloads.clone(),
            services: info.services.clone(),
        });
        let mut first = true;
        for (component, suite, meta) in selected(plan) {
            let events = events.for_scenario(suite, &meta.name);
            if self.interrupt.is_triggered() {
                let reason = "not run: the run was interrupted".to_owned();
                finish(
                    &events,
                    &component.path,
                    not_run(suite, meta, skipped(reason)),
                );
                continue;
            }
            events.emit(EventKind::ScenarioStarted {
                key: meta.key.clone(),
                tags: meta.tags.clone(),
            });
            let case = self.run_case(component, suite, meta, first, &events).await;
            first = false;
            finish(&events, &component.path, case);
        }
    }

    /// One scenario, from the steady-state check to the end of its rollback.
    pub async fn run_case(
        &self,
        component: &LoadedComponent<ScenarioHost>,
        suite: &str,
        meta: &ScenarioMeta,
        first: bool,
        events: &EventSender,
    ) -> CaseReport {
        let started = Instant::now();
        let mut case = not_run(suite, meta, CaseOutcome::Passed);
        if let Err(off) = self.steady_before(component, first, events).await {
            let message = format!("not run: {off}");
            case.outcome = CaseOutcome::Error {
                kind: ErrorKind::SteadyState,
                detail: message.clone(),
                message,
            };
            case.system_err = Some(self.log_tails().await);
            case.elapsed = started.elapsed();
            return case;
        }
        let timeout = self
            .settings
            .timeout_override
            .or(meta.timeout)
            .unwrap_or(self.settings.default_timeout);
        let control = RunControl::new(timeout, self.interrupt.clone());
        let host = self.host(control.clone()).with_events(events.clone());
        let run = self.engine.run(component, &meta.name, host, &control).await;
        let mut windows = run.host.windows.clone();
        let steps = undo_all(
            &self.env,
            self.focus.http(),
            &run.host.journal,
            self.settings.steady_timeout,
            &mut |step| {
                events.emit(EventKind::UndoStep {
                    index: step.index,
                    count: step.count,
                    step: step.undo.to_string(),
                    answer: step.result.clone().ok().flatten(),
                    took: step.elapsed,
                    error: step.result.as_ref().err().cloned(),
                });
                windows.undone(&step.undo, events);
            },
        )
        .await;
        windows.close_all(events);
        let steady_started = Instant::now();
        let mut steady = wait_steady(&self.env, self.settings.steady_timeout).await;
        if steady.is_ok() && !self.interrupt.is_triggered() {
            steady = self
                .hypothesis_holds(component)
                .await
                .map_err(|last| format!("the steady-state hypothesis does not hold: {last}"));
        }
        events.emit(EventKind::SteadyState {
            phase: Phase::After,
            held: steady.is_ok(),
            took: steady_started.elapsed(),
            message: steady.as_ref().err().cloned(),
        });
        case.outcome = outcome(&run, &steps, &steady, self.settings.steady_timeout);
        case.properties
            .extend(run.host.params_read.iter().map(|(name, value)| {
                let value = value.clone().unwrap_or_else(|| "(not set)".to_owned());
                (format!("param.{name}"), value)
            }));
        case.properties.extend(run.host.annotations.iter().cloned());
        case.system_out = system_out(&run, &steps, &steady, steady_started.elapsed());
        if case.outcome.is_bad() {
            case.system_err = Some(self.log_tails().await);
        }
        case.elapsed = started.elapsed();
        case
    }

    /// The steady state before a scenario: the environment's (waited for before the first
    /// one only), then the component's hypothesis.
    async fn steady_before(
        &self,
        component: &LoadedComponent<ScenarioHost>,
        first: bool,
        events: &EventSender,
    ) -> Result<(), String> {
        let waited = Instant::now();
        let pre_wait = if first {
            self.settings.steady_timeout
        } else {
            Duration::ZERO
        };
        let steady = tokio::select! {
            steady = wait_steady(&self.env, pre_wait) => steady,
            _ = self.interrupt.triggered() => Err("the run was interrupted while waiting for it".to_owned()),
        };
        let steady = match steady {
            Ok(()) => self.hypothesis_holds(component).await.map_err(|last| {
                format!(
                    "the steady-state hypothesis did not hold within {:.0} s: {last}",
                    self.settings.steady_timeout.as_secs_f64()
                )
            }),
            Err(off) => Err(format!("the environment is not in its steady state: {off}")),
        };
        events.emit(EventKind::SteadyState {
            phase: Phase::Before,
            held: steady.is_ok(),
            took: waited.elapsed(),
            message: steady.as_ref().err().cloned(),
        });
        steady
    }

    /// A host for one guest call against this run's environment.
    fn host(&self, control: RunControl) -> ScenarioHost {
        ScenarioHost::new(
            self.env.clone(),
            self.focus.clone(),
            self.settings.limits,
            control,
        )
        .with_run(self.settings.run.clone())
    }

    /// Polls `component`'s steady-state hypothesis every [`HYPOTHESIS_POLL`] until it holds,
    /// within the steady-state timeout. `Ok` when it holds or there is none; else the last
    /// check's message.
    async fn hypothesis_holds(
        &self,
        component: &LoadedComponent<ScenarioHost>,
    ) -> Result<(), String> {
        if !self.settings.check_hypothesis {
            return Ok(());
        }
        let deadline = Instant::now() + self.settings.steady_timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let control = RunControl::new(
                remaining.max(Duration::from_secs(1)),
                self.interrupt.clone(),
            );
            let host = self.host(control.clone()).for_hypothesis();
            let Some(check) = self.engine.steady_state(component, host, &control).await else {
                return Ok(());
            };
            let last = match check.result {
                Ok(GuestOutcome::Passed | GuestOutcome::Skipped(_)) => return Ok(()),
                Ok(other) => other.summary(),
                Err(fault) => format!(
                    "the check ended with a {}: {}",
                    fault.kind.as_str(),
                    fault.message
                ),
            };
            if self.interrupt.is_triggered() || Instant::now() + HYPOTHESIS_POLL >= deadline {
                return Err(last);
            }
            tokio::select! {
                _ = tokio::time::sleep(HYPOTHESIS_POLL) => {}
                _ = self.interrupt.triggered() => return Err(last),
            }
        }
    }

    async fn log_tails(&self) -> String {
        let tails = tokio::time::timeout(
            Duration::from_secs(5),
            self.env.log_tails(self.settings.log_tail_lines),
        )
        .await;
        let tails = tails.unwrap_or_default();
        let mut text = String::new();
        for tail in tails {
            text.push_str(&format!(
                "--- last {} lines of {} ---\n",
                tail.lines.len(),
                tail.source
            ));
            for line in tail.lines {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    }
}

/// Starts a run's report: `run-started`, then each file as loaded (with its selected
/// scenarios) or as a `load` error case, before the environment is touched.
pub fn announce(events: &EventSender, environment: &str, run_id: &str, plan: &[PlanEntry]) {
    events.emit(EventKind::RunStarted {
        schema: super::events::SCHEMA_VERSION,
        runner: env!("CARGO_PKG_VERSION"),
        environment: environment.to_owned(),
        run_id: run_id.to_owned(),
        started: SystemTime::now(),
    });
    for entry in plan {
        match entry {
            PlanEntry::Broken { suite, path, error } => {
                let events = events.for_scenario(suite, "load");
                finish(&events, path, load_error_case(suite, error));
            }
            PlanEntry::Loaded {
                component,
                suite,
                selected,
                ..
            } if !selected.is_empty() => {
                events.for_suite(suite).emit(EventKind::ComponentLoaded {
                    path: component.path.clone(),
                    scenarios: selected.iter().map(|m| m.name.clone()).collect(),
                });
            }
            PlanEntry::Loaded { .. } => {}
        }
    }
}

/// Reports every selected scenario of `plan` as not run, with `kind` and `message`: an
/// `<error>` (the environment could not be opened), or for [`ErrorKind::Interrupted`] during
/// start-up a `<skipped>`. CI then shows the reason instead of a missing report.
pub fn report_not_run(plan: &[PlanEntry], events: &EventSender, kind: ErrorKind, message: &str) {
    for (component, suite, meta) in selected(plan) {
        let outcome = if kind == ErrorKind::Interrupted {
            skipped(format!("not run: {message}"))
        } else {
            CaseOutcome::Error {
                kind,
                message: format!("not run: {message}"),
                detail: message.to_owned(),
            }
        };
        let events = events.for_scenario(suite, &meta.name);
        finish(&events, &component.path, not_run(suite, meta, outcome));
    }
}

/// Reports a usage error that kept the run from starting, as one `usage` error case of the
/// suite `scenario-runner`.
pub fn report_usage(events: &EventSender, message: &str) {
    let case = CaseReport {
        name: "usage".to_owned(),
        classname: "scenario-runner".to_owned(),
        outcome: CaseOutcome::Error {
            kind: ErrorKind::Usage,
            message: crate::engine::one_line(message),
            detail: message.to_owned(),
        },
        elapsed: Duration::ZERO,
        properties: Vec::new(),
        system_out: String::new(),
        system_err: None,
    };
    let events = events.for_scenario("scenario-runner", "usage");
    finish(&events, Path::new(""), case);
}

/// Every selected scenario of `plan`, with its component and suite, in order.
fn selected(
    plan: &[PlanEntry],
) -> impl Iterator<Item = (&LoadedComponent<ScenarioHost>, &str, &ScenarioMeta)> {
    plan.iter().flat_map(|entry| match entry {
        PlanEntry::Loaded {
            component,
            suite,
            selected,
            ..
        } => selected
            .iter()
            .map(|meta| (component, suite.as_str(), meta))
            .collect::<Vec<_>>(),
        PlanEntry::Broken { .. } => Vec::new(),
    })
}

fn skipped(reason: String) -> CaseOutcome {
    CaseOutcome::Skipped { reason }
}

/// The case of `meta` with `outcome` and nothing else yet.
fn not_run(suite: &str, meta: &ScenarioMeta, outcome: CaseOutcome) -> CaseReport {
    CaseReport {
        name: meta.name.clone(),
        classname: suite.to_owned(),
        outcome,
        elapsed: Duration::ZERO,
        properties: meta_properties(meta),
        system_out: String::new(),
        system_err: None,
    }
}

/// Emits `scenario-finished` for `case`, of the file at `path`.
fn finish(events: &EventSender, path: &Path, case: CaseReport) {
    events.emit(EventKind::ScenarioFinished {
        case: FinishedCase(Arc::new(case)),
        path: path.to_owned(),
        events_dropped: events.dropped(),
    });
}
