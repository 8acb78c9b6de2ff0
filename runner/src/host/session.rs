//! A run: load the components, then for each selected scenario check the steady state, run it
//! on a fresh instance, undo its journal in reverse, wait for the steady state again, and turn
//! what happened into a report case. Whatever the outcome, the journal is undone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::journal::{self, UndoStep, undo_all, wait_steady};
use super::{FocusClient, HostLimits, ScenarioHost};
use crate::engine::{
    GuestOutcome, GuestRun, Interrupt, LoadError, LoadedComponent, RunControl, ScenarioEngine,
    ScenarioMeta,
};
use crate::env::Environment;
use crate::report::{CaseOutcome, CaseReport, RunReport, SuiteReport};

/// The start of a `failed` outcome's message that carries a host error, not a failed
/// assertion: the SDK's convention, because the contract's `outcome` has no case for it.
pub const HOST_ERROR_PREFIX: &str = "host error: ";

/// The engine type of a run.
pub type Engine = ScenarioEngine<ScenarioHost>;

/// Which scenarios to run. Every criterion given must hold.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Exactly this name.
    pub scenario: Option<String>,
    /// Names containing this.
    pub filter: Option<String>,
    /// Scenarios with at least one of these tags.
    pub tags: Vec<String>,
}

impl Selection {
    /// Whether `meta` is selected.
    pub fn matches(&self, meta: &ScenarioMeta) -> bool {
        self.scenario.as_ref().is_none_or(|s| &meta.name == s)
            && self
                .filter
                .as_ref()
                .is_none_or(|f| meta.name.contains(f.as_str()))
            && (self.tags.is_empty() || self.tags.iter().any(|t| meta.tags.contains(t)))
    }
}

/// A component file, loaded and with its selected scenarios, or the reason it did not load.
pub enum PlanEntry {
    /// Loaded.
    Loaded {
        /// The component.
        component: LoadedComponent<ScenarioHost>,
        /// Its suite name, unique in the run.
        suite: String,
        /// Every scenario it holds.
        all: Vec<ScenarioMeta>,
        /// Those selected, in the component's order.
        selected: Vec<ScenarioMeta>,
    },
    /// Could not be loaded: an error case in the report.
    Broken {
        /// Its suite name, unique in the run.
        suite: String,
        /// The file.
        path: PathBuf,
        /// Why.
        error: LoadError,
    },
}

/// Loads every file and asks each component for its scenarios. A file that fails to load is a
/// [`PlanEntry::Broken`]; the others are still loaded.
pub async fn load_plan(
    engine: &Engine,
    paths: &[PathBuf],
    selection: &Selection,
) -> Vec<PlanEntry> {
    let mut plan = Vec::new();
    let mut names = std::collections::HashSet::new();
    for path in paths {
        let suite = unique_suite_name(path, &mut names);
        let loaded = match engine.load(path) {
            Ok(component) => engine
                .scenarios(&component, ScenarioHost::detached())
                .await
                .map(|all| (component, all)),
            Err(error) => Err(error),
        };
        plan.push(match loaded {
            Ok((component, all)) => {
                let selected = all
                    .iter()
                    .filter(|m| selection.matches(m))
                    .cloned()
                    .collect();
                PlanEntry::Loaded {
                    component,
                    suite,
                    all,
                    selected,
                }
            }
            Err(error) => PlanEntry::Broken {
                suite,
                path: path.clone(),
                error,
            },
        });
    }
    plan
}

fn unique_suite_name(path: &Path, taken: &mut std::collections::HashSet<String>) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "component".into());
    let mut name = stem.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{stem}-{n}");
        n += 1;
    }
    name
}

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
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            timeout_override: None,
            default_timeout: Duration::from_secs(120),
            steady_timeout: Duration::from_secs(60),
            limits: HostLimits::default(),
            log_tail_lines: 100,
        }
    }
}

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
                    report.elapsed = run_started.elapsed();
                    let last = report
                        .suites
                        .last()
                        .and_then(|s| s.cases.last())
                        .expect("just pushed");
                    observer.scenario_finished(last, &report);
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
                        report.elapsed = run_started.elapsed();
                        report.interrupted = self.interrupt.is_triggered();
                        let last = report
                            .suites
                            .last()
                            .and_then(|s| s.cases.last())
                            .expect("just pushed");
                        observer.scenario_finished(last, &report);
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
        if let Err(off) = steady {
            let message = format!("not run: the environment is not in its steady state: {off}");
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
        let host = ScenarioHost::new(
            self.env.clone(),
            self.focus.clone(),
            self.settings.limits,
            control.clone(),
        );
        let run = self.engine.run(component, &meta.name, host, &control).await;
        let steps = undo_all(
            &self.env,
            &run.host.journal,
            self.settings.steady_timeout,
            &mut |step| {
                observer.undo_step(step);
            },
        )
        .await;
        let steady_started = Instant::now();
        let steady = wait_steady(&self.env, self.settings.steady_timeout).await;
        case.outcome = outcome(&run, &steps, &steady, self.settings.steady_timeout);
        case.properties.extend(run.host.annotations.iter().cloned());
        case.system_out = system_out(&run, &steps, &steady, steady_started.elapsed());
        if case.outcome.is_bad() {
            case.system_err = Some(self.log_tails().await);
        }
        case.elapsed = started.elapsed();
        case
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

fn meta_properties(meta: &ScenarioMeta) -> Vec<(String, String)> {
    let mut properties = Vec::new();
    if let Some(key) = &meta.key {
        properties.push(("test_key".to_owned(), key.clone()));
    }
    if !meta.tags.is_empty() {
        properties.push(("tags".to_owned(), meta.tags.join(",")));
    }
    properties
}

fn suite_report(
    name: &str,
    path: &Path,
    started: SystemTime,
    cases: Vec<CaseReport>,
) -> SuiteReport {
    let elapsed = cases.iter().map(|c| c.elapsed).sum();
    SuiteReport {
        name: name.to_owned(),
        path: path.to_owned(),
        started,
        elapsed,
        cases,
    }
}

/// The report case of a file that did not load.
pub fn load_error_case(suite: &str, error: &LoadError) -> CaseReport {
    let message = error.to_string();
    CaseReport {
        name: "load".into(),
        classname: suite.to_owned(),
        outcome: CaseOutcome::Error {
            kind: "load".into(),
            message: message.clone(),
            detail: format!("{message}\n\n(problem: {})", error.kind()),
        },
        elapsed: Duration::ZERO,
        properties: Vec::new(),
        system_out: String::new(),
        system_err: None,
    }
}

/// The scenario's outcome, unless the rollback or the return to the steady state failed:
/// then an error that says what is left changed, with the scenario's own outcome in the detail.
fn outcome(
    run: &GuestRun<ScenarioHost>,
    steps: &[UndoStep],
    steady: &Result<(), String>,
    steady_timeout: Duration,
) -> CaseOutcome {
    let own = match &run.result {
        Ok(GuestOutcome::Passed) => CaseOutcome::Passed,
        Ok(GuestOutcome::Skipped(reason)) => CaseOutcome::Skipped {
            reason: reason.clone(),
        },
        Ok(GuestOutcome::Failed { message, detail }) if message.starts_with(HOST_ERROR_PREFIX) => {
            CaseOutcome::Error {
                kind: "host-error".into(),
                message: message[HOST_ERROR_PREFIX.len()..].to_owned(),
                detail: detail.clone().unwrap_or_else(|| message.clone()),
            }
        }
        Ok(GuestOutcome::Failed { message, detail }) => CaseOutcome::Failed {
            message: message.clone(),
            detail: match detail {
                Some(detail) => format!("{message}\n\n{detail}"),
                None => message.clone(),
            },
        },
        Err(fault) => CaseOutcome::Error {
            kind: fault.kind.as_str().into(),
            message: fault.message.clone(),
            detail: fault.detail.clone(),
        },
    };
    let failed: Vec<String> = steps
        .iter()
        .filter(|s| s.result.is_err())
        .map(|s| s.to_string())
        .collect();
    let (kind, problem) = if !failed.is_empty() {
        (
            "rollback",
            format!("the rollback failed: {}", failed.join("; ")),
        )
    } else if let Err(off) = steady {
        let secs = steady_timeout.as_secs_f64();
        (
            "steady-state",
            format!(
                "after the rollback the environment did not return to its steady state within {secs:.0} s: {off}"
            ),
        )
    } else {
        return own;
    };
    let own_text = match &own {
        CaseOutcome::Passed => "passed".to_owned(),
        CaseOutcome::Skipped { reason } => format!("skipped: {reason}"),
        CaseOutcome::Failed { detail, .. } => format!("failed: {detail}"),
        CaseOutcome::Error { kind, detail, .. } => format!("error ({kind}): {detail}"),
    };
    CaseOutcome::Error {
        kind: kind.into(),
        message: problem.clone(),
        detail: format!("{problem}\n\nThe scenario itself {own_text}"),
    }
}

fn system_out(
    run: &GuestRun<ScenarioHost>,
    steps: &[UndoStep],
    steady: &Result<(), String>,
    steady_wait: Duration,
) -> String {
    let mut out = String::new();
    for line in &run.host.log {
        out.push_str(&line.to_string());
        out.push('\n');
    }
    if run.host.log_lines_dropped > 0 {
        out.push_str(&format!(
            "[… {} log lines left out …]\n",
            run.host.log_lines_dropped
        ));
    }
    if !steps.is_empty() {
        out.push_str("--- rollback ---\n");
        for step in steps {
            out.push_str(&step.to_string());
            out.push('\n');
        }
    }
    match steady {
        Ok(()) if !steps.is_empty() => out.push_str(&format!(
            "steady state: back after {:.3} s\n",
            steady_wait.as_secs_f64()
        )),
        Ok(()) => {}
        Err(off) => out.push_str(&format!("steady state: NOT restored: {off}\n")),
    }
    for (label, stream) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        let total = stream.total_bytes();
        if total > 0 {
            out.push_str(&format!("--- guest {label} ({total} bytes) ---\n"));
            out.push_str(&stream.text());
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

/// Re-exported for callers that print deviations.
pub use journal::describe as describe_deviations;
