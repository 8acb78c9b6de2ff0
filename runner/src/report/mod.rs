//! Reports: what a run found, as JUnit XML ([`junit`]) and as summaries for people and
//! machines ([`summary`]). This module knows neither wasmtime nor the environment: it takes
//! the plain records below.

pub mod junit;
pub mod summary;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How one scenario ended, as the report says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
    /// Every check held.
    Passed,
    /// An assertion did not hold: a JUnit `<failure>`.
    Failed {
        /// One line.
        message: String,
        /// The full text.
        detail: String,
    },
    /// Not run on purpose: `<skipped>`.
    Skipped {
        /// Why.
        reason: String,
    },
    /// Could not run to a verdict: `<error>`.
    Error {
        /// `panic`, `trap`, `timeout`, `memory`, `host`, `steady-state`, `load`, `rollback`
        /// or `interrupted`.
        kind: String,
        /// One line.
        message: String,
        /// The full text.
        detail: String,
    },
}

impl CaseOutcome {
    /// `passed`, `failed`, `skipped` or `error`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed { .. } => "failed",
            Self::Skipped { .. } => "skipped",
            Self::Error { .. } => "error",
        }
    }

    /// Whether it makes the run fail.
    pub fn is_bad(&self) -> bool {
        matches!(self, Self::Failed { .. } | Self::Error { .. })
    }
}

/// One scenario's result: a JUnit testcase.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// The scenario's name.
    pub name: String,
    /// The component's name.
    pub classname: String,
    /// How it ended.
    pub outcome: CaseOutcome,
    /// How long it took, from the steady-state check to the end of the rollback.
    pub elapsed: Duration,
    /// Annotations, tags and `test_key`, in order.
    pub properties: Vec<(String, String)>,
    /// The log, the rollback, and the guest's stdout and stderr.
    pub system_out: String,
    /// The environment's log tails, for a failure or an error.
    pub system_err: Option<String>,
}

/// One component file: a JUnit testsuite.
#[derive(Debug, Clone)]
pub struct SuiteReport {
    /// The component's name.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// When its first scenario started.
    pub started: SystemTime,
    /// From its first scenario's start to its last one's end.
    pub elapsed: Duration,
    /// Its scenarios, in the order they ran.
    pub cases: Vec<CaseReport>,
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The environment's name.
    pub environment: String,
    /// When the run started.
    pub started: SystemTime,
    /// How long it took.
    pub elapsed: Duration,
    /// Whether a signal cut it short.
    pub interrupted: bool,
    /// One per component file.
    pub suites: Vec<SuiteReport>,
}

/// How many scenarios ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// All of them.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed an assertion.
    pub failed: usize,
    /// Ended in an error.
    pub errors: usize,
    /// Skipped.
    pub skipped: usize,
}

impl RunReport {
    /// Every case, with its suite.
    pub fn cases(&self) -> impl Iterator<Item = &CaseReport> {
        self.suites.iter().flat_map(|s| s.cases.iter())
    }

    /// The counts over every suite.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for case in self.cases() {
            counts.total += 1;
            match case.outcome {
                CaseOutcome::Passed => counts.passed += 1,
                CaseOutcome::Failed { .. } => counts.failed += 1,
                CaseOutcome::Skipped { .. } => counts.skipped += 1,
                CaseOutcome::Error { .. } => counts.errors += 1,
            }
        }
        counts
    }
}
