//! Reports: what a run found, as JUnit XML ([`junit`]), as a page for people ([`html`]) and
//! as summaries for people and machines ([`summary`]). This module knows neither wasmtime nor
//! the environment: it takes the plain records below.

pub mod collect;
pub mod events_file;
pub mod html;
pub mod junit;
pub mod summary;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Why a scenario ended in an `<error>`: the JUnit `type` attribute, the `kind` of the JSON
/// summary and of the run events. The README's table of kinds is checked against
/// [`ErrorKind::ALL`] and [`ErrorKind::meaning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The guest panicked.
    Panic,
    /// An exception nobody caught (Python and other SDKs).
    Exception,
    /// The guest trapped for another reason.
    Trap,
    /// The scenario ran past its deadline.
    Timeout,
    /// The guest tried to grow its memory past the cap.
    Memory,
    /// A host function failed in a way the guest cannot be told about.
    Host,
    /// The scenario returned a host error it did not handle.
    HostError,
    /// The steady state did not hold before the scenario, or did not return after it.
    SteadyState,
    /// The rollback could not undo a step.
    Rollback,
    /// A SIGINT or SIGTERM ended the scenario, or kept it from running.
    Interrupted,
    /// The component could not be built or loaded.
    Load,
    /// The environment could not be opened, so the scenario did not run.
    Environment,
    /// The command line or the configuration was wrong, so nothing ran.
    Usage,
}

impl ErrorKind {
    /// Every kind, in the order the README lists them.
    pub const ALL: [Self; 13] = [
        Self::Panic,
        Self::Exception,
        Self::Trap,
        Self::Timeout,
        Self::Memory,
        Self::Host,
        Self::HostError,
        Self::SteadyState,
        Self::Rollback,
        Self::Interrupted,
        Self::Load,
        Self::Environment,
        Self::Usage,
    ];

    /// The name in the report: `panic`, `steady-state`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Panic => "panic",
            Self::Exception => "exception",
            Self::Trap => "trap",
            Self::Timeout => "timeout",
            Self::Memory => "memory",
            Self::Host => "host",
            Self::HostError => "host-error",
            Self::SteadyState => "steady-state",
            Self::Rollback => "rollback",
            Self::Interrupted => "interrupted",
            Self::Load => "load",
            Self::Environment => "environment",
            Self::Usage => "usage",
        }
    }

    /// What it means, for the README's table.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Panic => "the scenario panicked (Rust)",
            Self::Exception => "an exception nobody caught, with its traceback (Python)",
            Self::Trap => "the component trapped: out-of-bounds access, stack overflow, …",
            Self::Timeout => "the scenario ran past its timeout",
            Self::Memory => "the component tried to grow its memory past the cap",
            Self::Host => "a host function failed in a way the scenario cannot be told about",
            Self::HostError => "the scenario returned a host error it did not handle",
            Self::SteadyState => {
                "the steady state did not hold before the scenario, or did not return after it"
            }
            Self::Rollback => "a rollback step failed: the environment may be left changed",
            Self::Interrupted => "SIGINT or SIGTERM ended the scenario or kept it from running",
            Self::Load => "the component could not be built or loaded",
            Self::Environment => "the environment could not be opened, so nothing ran",
            Self::Usage => "the command line or the configuration was wrong, so nothing ran",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<crate::engine::FaultKind> for ErrorKind {
    fn from(kind: crate::engine::FaultKind) -> Self {
        use crate::engine::FaultKind as F;
        match kind {
            F::Panic => Self::Panic,
            F::Exception => Self::Exception,
            F::Trap => Self::Trap,
            F::Timeout => Self::Timeout,
            F::MemoryCap => Self::Memory,
            F::Host => Self::Host,
            F::Interrupted => Self::Interrupted,
        }
    }
}

/// Why a report file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the {what} {path}: {reason}")]
pub struct WriteError {
    /// Which report: `JUnit report`, `HTML report`, `event stream`.
    pub what: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// Writes a report file at `path` (creating its folder) through a temporary file and a rename,
/// so that a reader never sees half a report.
pub fn write_file(what: &'static str, path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let fail = |reason: String| WriteError {
        what,
        path: path.to_owned(),
        reason,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| fail(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e.to_string())
    })
}

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
        /// Why: the JUnit `type` attribute.
        kind: ErrorKind,
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
            counts.add(&case.outcome);
        }
        counts
    }
}

impl Counts {
    /// Counts one more scenario that ended with `outcome`.
    pub fn add(&mut self, outcome: &CaseOutcome) {
        self.total += 1;
        match outcome {
            CaseOutcome::Passed => self.passed += 1,
            CaseOutcome::Failed { .. } => self.failed += 1,
            CaseOutcome::Skipped { .. } => self.skipped += 1,
            CaseOutcome::Error { .. } => self.errors += 1,
        }
    }
}
