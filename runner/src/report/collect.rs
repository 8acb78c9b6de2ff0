//! The run's report, gathered from its events: each reporter that needs the whole picture
//! (JUnit, HTML, the closing summary) keeps one [`Collector`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::{CaseReport, RunReport, SuiteReport};
use crate::run::events::{EventKind, Reporter, RunEvent};

/// Builds a [`RunReport`] from run events.
#[derive(Debug, Clone)]
pub struct Collector {
    report: RunReport,
}

impl Default for Collector {
    fn default() -> Self {
        Self {
            report: RunReport {
                environment: String::new(),
                started: SystemTime::now(),
                elapsed: Duration::ZERO,
                interrupted: false,
                suites: Vec::new(),
            },
        }
    }
}

impl Collector {
    /// Takes one event; whether the report changed (a scenario or the run finished).
    pub fn event(&mut self, event: &RunEvent) -> bool {
        match &event.kind {
            EventKind::RunStarted {
                environment,
                started,
                ..
            } => {
                self.report.environment = environment.clone();
                self.report.started = *started;
                false
            }
            EventKind::ScenarioFinished { case, path, .. } => {
                self.report.elapsed = event.t;
                let case: CaseReport = (*case.0).clone();
                let suite = match self.report.suites.last_mut() {
                    Some(suite) if suite.name == case.classname && suite.path == *path => suite,
                    _ => {
                        let started = self.report.started + event.t.saturating_sub(case.elapsed);
                        self.report.suites.push(SuiteReport {
                            name: case.classname.clone(),
                            path: path.clone(),
                            started,
                            elapsed: Duration::ZERO,
                            cases: Vec::new(),
                        });
                        self.report.suites.last_mut().expect("just pushed")
                    }
                };
                suite.elapsed += case.elapsed;
                suite.cases.push(case);
                true
            }
            EventKind::RunFinished { interrupted, .. } => {
                self.report.elapsed = event.t;
                self.report.interrupted = *interrupted;
                true
            }
            _ => false,
        }
    }

    /// The report so far.
    pub fn report(&self) -> &RunReport {
        &self.report
    }
}

/// A [`Collector`] shared with whoever reads the report after the run (the closing summary).
#[derive(Debug, Clone, Default)]
pub struct SharedReport(Arc<Mutex<Collector>>);

impl SharedReport {
    /// The report so far.
    pub fn report(&self) -> RunReport {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .report()
            .clone()
    }
}

impl Reporter for SharedReport {
    fn event(&mut self, event: &RunEvent) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .event(event);
    }
}
