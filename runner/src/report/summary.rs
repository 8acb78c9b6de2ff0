//! The closing summary of a run: for people (counts, failures, the slowest scenarios, where the
//! report is) and for machines (`--format json`).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{CaseOutcome, CaseReport, Counts, RunReport};

/// The one-line result of a scenario: `PASS [ 0.012 s] fixture::passes`.
pub fn case_line(case: &CaseReport) -> String {
    let secs = case.elapsed.as_secs_f64();
    let head = format!("[{secs:>7.3} s] {}::{}", case.classname, case.name);
    let line = |text: &str| crate::guest_text::escape_line(text).into_owned();
    let head = line(&head);
    match &case.outcome {
        CaseOutcome::Passed => format!("  PASS  {head}"),
        CaseOutcome::Skipped { reason } => format!("  SKIP  {head}: {}", line(reason)),
        CaseOutcome::Failed { message, .. } => format!("  FAIL  {head}: {}", line(message)),
        CaseOutcome::Error { kind, message, .. } => {
            format!(" ERROR  {head} ({kind}): {}", line(message))
        }
    }
}

/// The human summary printed at the end of a run.
pub fn human(run: &RunReport, junit: &Path) -> String {
    let counts = run.counts();
    let mut out = String::new();
    let bad: Vec<&CaseReport> = run.cases().filter(|c| c.outcome.is_bad()).collect();
    if !bad.is_empty() {
        let _ = writeln!(out, "\nNot passed:");
        for case in &bad {
            let _ = writeln!(out, "{}", case_line(case));
        }
    }
    let mut slowest: Vec<&CaseReport> = run.cases().collect();
    slowest.sort_by_key(|case| std::cmp::Reverse(case.elapsed));
    if slowest.len() > 1 {
        let _ = writeln!(out, "\nSlowest:");
        for case in slowest.iter().take(3) {
            let _ = writeln!(
                out,
                "  {:>7.3} s  {}::{}",
                case.elapsed.as_secs_f64(),
                case.classname,
                case.name
            );
        }
    }
    let interrupted = if run.interrupted {
        " (INTERRUPTED)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "\nSummary{interrupted}: {} scenario{} in {:.2} s on `{}`: {} passed, {} failed, {} error{}, {} skipped",
        counts.total,
        if counts.total == 1 { "" } else { "s" },
        run.elapsed.as_secs_f64(),
        run.environment,
        counts.passed,
        counts.failed,
        counts.errors,
        if counts.errors == 1 { "" } else { "s" },
        counts.skipped
    );
    let _ = writeln!(out, "JUnit report: {}", junit.display());
    out
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    environment: &'a str,
    interrupted: bool,
    duration_s: f64,
    junit: String,
    counts: Counts,
    scenarios: Vec<JsonCase<'a>>,
}

#[derive(Serialize)]
struct JsonCase<'a> {
    component: &'a str,
    name: &'a str,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    duration_s: f64,
    properties: Vec<(&'a str, &'a str)>,
}

/// The machine-readable summary: one JSON object.
pub fn json(run: &RunReport, junit: &Path) -> String {
    let scenarios = run
        .cases()
        .map(|case| {
            let (kind, message) = match &case.outcome {
                CaseOutcome::Passed => (None, None),
                CaseOutcome::Skipped { reason } => (None, Some(reason.as_str())),
                CaseOutcome::Failed { message, .. } => (Some("assertion"), Some(message.as_str())),
                CaseOutcome::Error { kind, message, .. } => {
                    (Some(kind.as_str()), Some(message.as_str()))
                }
            };
            JsonCase {
                component: &case.classname,
                name: &case.name,
                outcome: case.outcome.label(),
                kind,
                message,
                duration_s: case.elapsed.as_secs_f64(),
                properties: case
                    .properties
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect(),
            }
        })
        .collect();
    let summary = JsonSummary {
        environment: &run.environment,
        interrupted: run.interrupted,
        duration_s: run.elapsed.as_secs_f64(),
        junit: junit.display().to_string(),
        counts: run.counts(),
        scenarios,
    };
    serde_json::to_string_pretty(&summary).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
