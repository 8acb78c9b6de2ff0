//! What `run --dry-run` prints, from the run's events: per scenario, each change it would make
//! to the environment, each (simulated) request, and the undo steps the journal would run.

use crate::env::dry_run::SIMULATED_RULE;
use crate::report::summary::case_line;
use crate::run::events::{EventKind, Reporter, RunEvent};

/// The banner that says what a dry run is and is not.
pub fn banner(environment: &str, kind: &str) -> String {
    format!(
        "DRY RUN against a simulation of `{environment}` ({kind}): nothing is started, changed or \
         sent over the network.\n\
         Requests are simulated: {SIMULATED_RULE}.\n\
         Loads and stream watching answer `unsupported` in a dry run, so scenarios that need them \
         skip, and the scenarios' steady-state hypothesis is not checked.\n"
    )
}

/// Prints a dry run's changes, requests and undo steps, scenario by scenario, on stdout.
#[derive(Default)]
pub struct DryRunPrinter;

impl Reporter for DryRunPrinter {
    fn event(&mut self, event: &RunEvent) {
        let line = match &event.kind {
            EventKind::ScenarioStarted { .. } => {
                crate::outln!("");
                format!(
                    "{}::{}",
                    event.suite.as_deref().unwrap_or_default(),
                    event.scenario.as_deref().unwrap_or_default()
                )
            }
            EventKind::FaultApplied { label, .. } => format!("  would change   {label}"),
            EventKind::RequestSent { request_line, .. } => {
                format!("  would send     {request_line}")
            }
            EventKind::RequestAnswered {
                status: Some(status),
                ..
            } => format!("    simulated answer {status}"),
            EventKind::UndoStep { step, .. } => format!("  would undo     {step}"),
            EventKind::ScenarioFinished { case, .. } => {
                format!("  simulated result:{}", case_line(&case.0))
            }
            _ => return,
        };
        crate::outln!("{}", crate::guest_text::escape_line(&line));
    }
}
