//! Turning what happened to one scenario into its report case: the outcome (with rollback
//! problems taking precedence), the properties, and the `<system-out>` text.

use std::time::Duration;

use crate::engine::{GuestOutcome, GuestRun, LoadError, ScenarioMeta};
use crate::host::ScenarioHost;
use crate::host::journal::UndoStep;
use crate::report::{CaseOutcome, CaseReport, ErrorKind};

pub(super) fn meta_properties(meta: &ScenarioMeta) -> Vec<(String, String)> {
    let mut properties = Vec::new();
    if let Some(key) = &meta.key {
        properties.push(("test_key".to_owned(), key.clone()));
    }
    if !meta.tags.is_empty() {
        properties.push(("tags".to_owned(), meta.tags.join(",")));
    }
    properties
}

/// The report case of a file that did not load.
pub fn load_error_case(suite: &str, error: &LoadError) -> CaseReport {
    let message = error.to_string();
    CaseReport {
        name: "load".into(),
        classname: suite.to_owned(),
        outcome: CaseOutcome::Error {
            kind: ErrorKind::Load,
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
pub(super) fn outcome(
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
        Ok(GuestOutcome::HostError {
            kind,
            message,
            detail,
        }) => {
            let message = if kind.is_empty() {
                message.clone()
            } else {
                format!("{kind}: {message}")
            };
            CaseOutcome::Error {
                kind: ErrorKind::HostError,
                detail: detail.clone().unwrap_or_else(|| message.clone()),
                message,
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
            kind: fault.kind.into(),
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
            ErrorKind::Rollback,
            format!("the rollback failed: {}", failed.join("; ")),
        )
    } else if let Err(off) = steady {
        let secs = steady_timeout.as_secs_f64();
        (
            ErrorKind::SteadyState,
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
        kind,
        message: problem.clone(),
        detail: format!("{problem}\n\nThe scenario itself {own_text}"),
    }
}

/// The `<system-out>` budget of each part, so that together they fit the report's
/// [`MAX_TEXT_BYTES`](crate::report::junit::MAX_TEXT_BYTES) and no second cap hides a part's
/// own marker: the log, the rollback, and each of the guest's stdout and stderr.
const LOG_BYTES: usize = 24 << 10;
const ROLLBACK_BYTES: usize = 8 << 10;
const STREAM_BYTES: usize = 15 << 10;

pub(super) fn system_out(
    run: &GuestRun<ScenarioHost>,
    steps: &[UndoStep],
    steady: &Result<(), String>,
    steady_wait: Duration,
) -> String {
    let mut out = String::new();
    out.push_str(&crate::guest_text::cap(&run.host.log.text(), LOG_BYTES));
    let mut rollback = String::new();
    if !steps.is_empty() {
        rollback.push_str("--- rollback ---\n");
        for step in steps {
            rollback.push_str(&step.to_string());
            rollback.push('\n');
        }
    }
    match steady {
        Ok(()) if !steps.is_empty() => rollback.push_str(&format!(
            "steady state: back after {:.3} s\n",
            steady_wait.as_secs_f64()
        )),
        Ok(()) => {}
        Err(off) => rollback.push_str(&format!("steady state: NOT restored: {off}\n")),
    }
    out.push_str(&crate::guest_text::cap(&rollback, ROLLBACK_BYTES));
    for (label, stream) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        let total = stream.total_bytes();
        if total > 0 {
            out.push_str(&format!("--- guest {label} ({total} bytes) ---\n"));
            out.push_str(&stream.text_within(STREAM_BYTES));
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}
