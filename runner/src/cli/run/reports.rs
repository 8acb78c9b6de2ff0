//! The reports of one `run`: where they go, the reporters fed with the run's events, the
//! report of a usage error, and the closing summary.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{Format, RunArgs};
use crate::cli::progress::Progress;
use crate::report::collect::SharedReport;
use crate::report::events_file::EventsFile;
use crate::report::html::HtmlReport;
use crate::report::junit::JunitWriter;
use crate::report::{RunReport, WriteError, summary};
use crate::run::{EventHub, EventSender, Reporter, announce, report_usage};

/// Writes the reports of a run that a usage error stopped before it began: one `usage` error
/// case that says what was wrong, so that a CI step that publishes the report finds one.
pub(super) async fn report_usage_error(outputs: &Outputs, args: &RunArgs, error: &anyhow::Error) {
    let reports = match Reports::start(outputs, args) {
        Ok(reports) => reports,
        Err(e) => {
            crate::errln!("error: {e:#}");
            return;
        }
    };
    let events = reports.sender().clone();
    announce(&events, args.env.as_deref().unwrap_or_default(), "", &[]);
    report_usage(&events, &format!("{error:#}"));
    events.run_finished(false);
    let (_, errors) = reports.finish().await;
    for error in errors {
        crate::errln!("error: {error}");
    }
}

/// Where a run's reports go.
pub(super) struct Outputs {
    pub(super) junit: PathBuf,
    pub(super) html: PathBuf,
    pub(super) events: Option<PathBuf>,
}

impl Outputs {
    /// `--junit`, `--html` and `--events` against the current folder; the JUnit file by
    /// default in `target/scenario-reports` beside runner.toml, the HTML file beside it.
    pub(super) fn resolve(args: &RunArgs, root: &Path) -> anyhow::Result<Self> {
        let cwd = std::env::current_dir().context("cannot read the current folder")?;
        let junit = match &args.junit {
            Some(path) => cwd.join(path),
            None => root
                .join("target")
                .join("scenario-reports")
                .join("junit.xml"),
        };
        Ok(Self {
            html: match &args.html {
                Some(path) => cwd.join(path),
                None => junit.with_file_name("report.html"),
            },
            junit,
            events: args.events.as_ref().map(|path| cwd.join(path)),
        })
    }
}

/// The run's reporters, fed with its events, and the report they gathered.
pub(super) struct Reports {
    hub: EventHub,
    shared: SharedReport,
}

impl Reports {
    /// The progress display, the JUnit and HTML reports and, with `--events`, the events file;
    /// for a dry run, what it would do on stdout and only the files asked for.
    pub(super) fn start(outputs: &Outputs, args: &RunArgs) -> anyhow::Result<Self> {
        let shared = SharedReport::default();
        let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(shared.clone())];
        let (junit, html) = if args.dry_run {
            reporters.push(Box::new(crate::cli::dry_run::DryRunPrinter));
            (args.junit.is_some(), args.html.is_some())
        } else {
            reporters.push(Box::new(Progress::new()));
            (true, true)
        };
        if junit {
            reporters.push(Box::new(JunitWriter::new(outputs.junit.clone())));
        }
        if html {
            reporters.push(Box::new(HtmlReport::new(outputs.html.clone())));
        }
        if let Some(path) = &outputs.events {
            let file = EventsFile::create(path)
                .context("check that --events names a file in a folder you can write to")?;
            reporters.push(Box::new(file));
        }
        Ok(Self {
            hub: EventHub::start(reporters),
            shared,
        })
    }

    pub(super) fn sender(&self) -> &EventSender {
        self.hub.sender()
    }

    /// Waits for the reporters to take every event; the report, and what could not be written.
    pub(super) async fn finish(self) -> (RunReport, Vec<WriteError>) {
        let errors = self.hub.finish().await;
        (self.shared.report(), errors)
    }
}

/// The closing summary, on stderr for people or stdout as JSON (for a dry run that wrote no
/// report, one line of counts), then what was not written.
pub(super) fn print_summary(
    report: &RunReport,
    outputs: &Outputs,
    args: &RunArgs,
    env_name: &str,
    errors: &[WriteError],
) {
    if args.dry_run && args.junit.is_none() {
        let counts = report.counts();
        let s = if counts.total == 1 { "" } else { "s" };
        crate::outln!(
            "\nDry run: {} scenario{s} simulated on `{env_name}`: {} passed, {} failed, {} errors, {} skipped (no JUnit report written; give --junit to write one)",
            counts.total,
            counts.passed,
            counts.failed,
            counts.errors,
            counts.skipped
        );
    } else {
        let html = outputs.html.display();
        match args.format {
            Format::Human => {
                crate::console::out(format_args!("{}", summary::human(report, &outputs.junit)));
                crate::outln!("HTML report: {html}");
            }
            Format::Json => {
                crate::outln!("{}", summary::json(report, &outputs.junit));
                crate::errln!("HTML report: {html}");
            }
        }
        if let Some(path) = &outputs.events {
            crate::errln!("Run events: {}", path.display());
        }
    }
    for error in errors {
        crate::errln!("error: {error}");
    }
}
