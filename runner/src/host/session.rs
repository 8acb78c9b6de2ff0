//! A run: load the components, then for each selected scenario check the steady state (the
//! environment's, then the component's hypothesis), run it on a fresh instance, undo its
//! journal in reverse, wait for the steady state again, and turn what happened into a report
//! case. Whatever the outcome, the journal is undone.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::case::{meta_properties, outcome, suite_report, system_out};
use super::journal::{UndoStep, undo_all, wait_steady};
use super::{FocusClient, HostLimits, RunContext, ScenarioHost};
use crate::engine::{GuestOutcome, Interrupt, LoadedComponent, RunControl, ScenarioMeta};
use crate::env::Environment;
use crate::report::{CaseOutcome, CaseReport, RunReport};

pub use super::case::load_error_case;
pub use super::journal::describe as describe_deviations;
pub use super::plan::{Engine, Partition, PlanEntry, Selection, load_plan};
pub use crate::engine::HOST_ERROR_PREFIX;

/// Follows a run as it happens, to print progress. Every method has a default that does nothing.
pub trait RunObserver {
    /// A scenario is about to be checked and run.
    fn scenario_started(&mut self, _suite: &str, _meta: &ScenarioMeta) {}
    /// A step of the rollback ended.
    fn undo_step(&mut self, _step: &UndoStep) {}
    /// A scenario ended; `so_far` is the report up to and including it.
    fn scenario_finished(&mut self, _case: &CaseReport, _so_far: &RunReport) {}
}

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

/// Brings the run's clock up to date and tells `observer` about the case just pushed.
fn announce_last_case(
    report: &mut RunReport,
    run_started: Instant,
    observer: &mut dyn RunObserver,
) {
    report.elapsed = run_started.elapsed();
    let last = report
        .suites
        .last()
        .and_then(|s| s.cases.last())
        .expect("a case was just pushed");
    observer.scenario_finished(last, report);
}

impl Session<'_> {
    /// Runs every selected scenario of `plan`, in order, and reports them all, load errors
    /// included. Stops after the scenario running when `interrupt` is triggered.
    pub async fn run(&self, plan: &[PlanEntry], observer: &mut dyn RunObserver) -> RunReport {
        let mut report = RunReport {
            environment: self.env.info().name,
            started: SystemTime::now(),
            elapsed: Duration::ZERO,
            interrupted: false,
            suites: Vec::new(),
        };
        let run_started = Instant::now();
        let mut first = true;
        for entry in plan {
            if self.interrupt.is_triggered() {
                break;
            }
            match entry {
                PlanEntry::Broken { suite, path, error } => {
                    let case = load_error_case(suite, error);
                    report
                        .suites
                        .push(suite_report(suite, path, SystemTime::now(), vec![case]));
                    announce_last_case(&mut report, run_started, observer);
                }
                PlanEntry::Loaded {
                    component,
                    suite,
                    selected,
                    ..
                } if !selected.is_empty() => {
                    report.suites.push(suite_report(
                        suite,
                        &component.path,
                        SystemTime::now(),
                        Vec::new(),
                    ));
                    for meta in selected {
                        if self.interrupt.is_triggered() {
                            break;
                        }
                        observer.scenario_started(suite, meta);
                        let case = self.run_case(component, suite, meta, first, observer).await;
                        first = false;
                        let suite_report = report.suites.last_mut().expect("just pushed");
                        suite_report.elapsed += case.elapsed;
                        suite_report.cases.push(case);
                        report.interrupted = self.interrupt.is_triggered();
                        announce_last_case(&mut report, run_started, observer);
                    }
                }
                PlanEntry::Loaded { .. } => {}
            }
        }
        report.suites.retain(|s| !s.cases.is_empty());
        report.elapsed = run_started.elapsed();
        report.interrupted = self.interrupt.is_triggered();
        report
    }

    /// One scenario, from the steady-state check to the end of its rollback.
    pub async fn run_case(
        &self,
        component: &LoadedComponent<ScenarioHost>,
        suite: &str,
        meta: &ScenarioMeta,
        first: bool,
        observer: &mut dyn RunObserver,
    ) -> CaseReport {
        let started = Instant::now();
        let mut case = CaseReport {
            name: meta.name.clone(),
            classname: suite.to_owned(),
            outcome: CaseOutcome::Passed,
            elapsed: Duration::ZERO,
            properties: meta_properties(meta),
            system_out: String::new(),
            system_err: None,
        };
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
        if let Err(off) = steady {
            let message = format!("not run: {off}");
            case.outcome = CaseOutcome::Error {
                kind: "steady-state".into(),
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
        let host = self.host(control.clone());
        let run = self.engine.run(component, &meta.name, host, &control).await;
        let steps = undo_all(
            &self.env,
            self.focus.http(),
            &run.host.journal,
            self.settings.steady_timeout,
            &mut |step| {
                observer.undo_step(step);
            },
        )
        .await;
        let steady_started = Instant::now();
        let mut steady = wait_steady(&self.env, self.settings.steady_timeout).await;
        if steady.is_ok() && !self.interrupt.is_triggered() {
            steady = self
                .hypothesis_holds(component)
                .await
                .map_err(|last| format!("the steady-state hypothesis does not hold: {last}"));
        }
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

/// The report of a run whose environment could not be opened: every selected scenario is an
/// error that says why it did not run, and every broken file its load error. CI then shows the
/// reason instead of a missing report.
pub fn not_run_report(plan: &[PlanEntry], environment: &str, message: &str) -> RunReport {
    let now = SystemTime::now();
    let suites = plan
        .iter()
        .filter_map(|entry| {
            let (suite, path, cases) = match entry {
                PlanEntry::Broken { suite, path, error } => {
                    (suite, path, vec![load_error_case(suite, error)])
                }
                PlanEntry::Loaded {
                    component,
                    suite,
                    selected,
                    ..
                } => {
                    let cases = selected
                        .iter()
                        .map(|meta| CaseReport {
                            name: meta.name.clone(),
                            classname: suite.clone(),
                            outcome: CaseOutcome::Error {
                                kind: "environment".into(),
                                message: format!("not run: {message}"),
                                detail: message.to_owned(),
                            },
                            elapsed: Duration::ZERO,
                            properties: meta_properties(meta),
                            system_out: String::new(),
                            system_err: None,
                        })
                        .collect();
                    (suite, &component.path, cases)
                }
            };
            (!cases.is_empty()).then(|| suite_report(suite, path, now, cases))
        })
        .collect();
    RunReport {
        environment: environment.to_owned(),
        started: now,
        elapsed: Duration::ZERO,
        interrupted: false,
        suites,
    }
}
