//! Progress as a run goes, from its events: on a terminal, a line per running scenario with its
//! elapsed time (indicatif); otherwise, or with `NO_COLOR`, plain lines. Undo steps are printed
//! as they happen. Everything goes to stderr, so that `--format json` keeps stdout clean.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::host::journal::step_line;
use crate::report::summary::case_line;
use crate::run::events::{EventKind, Reporter, RunEvent};

/// Prints progress.
pub struct Progress {
    fancy: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Progress on stderr, with a spinner when it is a terminal.
    pub fn new() -> Self {
        let fancy = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self { fancy, bar: None }
    }

    /// Prints a line above the progress bar, if any.
    fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => crate::errln!("{line}"),
        }
    }

    fn started(&mut self, name: String) {
        if self.fancy {
            let bar = ProgressBar::new_spinner();
            let style = ProgressStyle::with_template("  {spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_message(name);
            bar.enable_steady_tick(Duration::from_millis(100));
            self.bar = Some(bar);
        } else {
            crate::errln!("  START  {name}");
        }
    }
}

impl Reporter for Progress {
    fn event(&mut self, event: &RunEvent) {
        let name = || {
            format!(
                "{}::{}",
                event.suite.as_deref().unwrap_or_default(),
                event.scenario.as_deref().unwrap_or_default()
            )
        };
        match &event.kind {
            EventKind::ScenarioStarted { .. } => self.started(name()),
            EventKind::UndoStep {
                index,
                count,
                step,
                answer,
                took,
                error,
            } => {
                let (answer, error) = (answer.as_deref(), error.as_deref());
                let line = step_line(*index, *count, step, answer, error, *took);
                self.println(&format!("         {line}"));
            }
            EventKind::ScenarioFinished { case, .. } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                crate::errln!("{}", case_line(&case.0));
            }
            _ => {}
        }
    }
}
