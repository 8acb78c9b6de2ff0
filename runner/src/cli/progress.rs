//! Progress as a run goes: on a terminal, a line per running scenario with its elapsed time
//! (indicatif); otherwise, or with `NO_COLOR`, plain lines. Undo steps are printed as they
//! happen. Everything goes to stderr, so that `--format json` keeps stdout clean. After each
//! scenario the JUnit report is rewritten, so that even a killed run leaves one.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::engine::ScenarioMeta;
use crate::host::UndoStep;
use crate::host::session::RunObserver;
use crate::report::summary::case_line;
use crate::report::{CaseReport, RunReport, junit};

/// Prints progress and keeps the JUnit file current.
pub struct Progress {
    fancy: bool,
    bar: Option<ProgressBar>,
    junit: PathBuf,
    /// The last error writing the JUnit file, reported at the end.
    pub write_error: Option<junit::WriteError>,
}

impl Progress {
    /// Progress for a run whose report goes to `junit`.
    pub fn new(junit: PathBuf) -> Self {
        let fancy = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self {
            fancy,
            bar: None,
            junit,
            write_error: None,
        }
    }

    /// Prints a line above the progress bar, if any.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => crate::errln!("{line}"),
        }
    }

    /// Writes the JUnit report of `run`.
    pub fn write_report(&mut self, run: &RunReport) {
        self.write_error = junit::write(run, &self.junit).err();
    }
}

impl RunObserver for Progress {
    fn scenario_started(&mut self, suite: &str, meta: &ScenarioMeta) {
        if self.fancy {
            let bar = ProgressBar::new_spinner();
            let style = ProgressStyle::with_template("  {spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_message(format!("{suite}::{}", meta.name));
            bar.enable_steady_tick(Duration::from_millis(100));
            self.bar = Some(bar);
        } else {
            crate::errln!("  START  {suite}::{}", meta.name);
        }
    }

    fn undo_step(&mut self, step: &UndoStep) {
        self.println(&format!("         {step}"));
    }

    fn scenario_finished(&mut self, case: &CaseReport, so_far: &RunReport) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        crate::errln!("{}", case_line(case));
        self.write_report(so_far);
    }
}
