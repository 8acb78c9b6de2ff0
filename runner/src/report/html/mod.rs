//! `--html FILE`: the report a person would rather look at. One self-contained page (inline
//! style and SVG, no script, nothing fetched) with the run's summary, the scenarios that did
//! not pass first, then each scenario in run order with its status, message, key, tags, a
//! timeline of its faults, requests, rollback and steady-state waits, its annotations and its
//! log.
//!
//! [`HtmlReport`] is a [`Reporter`]: it keeps the timeline of the running scenario only, turns
//! it into that scenario's section when the scenario ends, and rewrites the page at the start
//! of the run, after each scenario and at the end, so that a killed run leaves one.

pub mod page;
pub mod section;
pub mod svg;
pub mod timeline;

use std::path::PathBuf;
use std::sync::Arc;

use self::page::RunHead;
use self::section::Section;
use self::timeline::Timeline;
use super::WriteError;
use crate::run::events::{EventKind, Reporter, RunEvent};

/// What the report is called in errors.
const WHAT: &str = "HTML report";

/// The scenario running now, and what its timeline holds so far.
struct Running {
    suite: Option<Arc<str>>,
    scenario: Option<Arc<str>>,
    timeline: Timeline,
}

/// Keeps the HTML report current from the run's events.
pub struct HtmlReport {
    path: PathBuf,
    head: RunHead,
    running: Option<Running>,
    sections: Vec<Section>,
    written: bool,
    error: Option<WriteError>,
}

impl HtmlReport {
    /// A report written at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            head: RunHead::default(),
            running: None,
            sections: Vec::new(),
            written: false,
            error: None,
        }
    }

    /// The page as it stands.
    pub fn html(&self) -> String {
        page::page(&self.head, &self.sections)
    }

    fn write(&mut self) {
        self.written = true;
        self.error = super::write_file(WHAT, &self.path, self.html().as_bytes()).err();
    }

    /// The running scenario's timeline, if `event` belongs to it.
    fn timeline_of(&mut self, event: &RunEvent) -> Option<&mut Timeline> {
        self.running
            .as_mut()
            .filter(|r| r.suite == event.suite && r.scenario == event.scenario)
            .map(|r| &mut r.timeline)
    }
}

impl Reporter for HtmlReport {
    fn event(&mut self, event: &RunEvent) {
        self.head.elapsed = self.head.elapsed.max(event.t);
        match &event.kind {
            EventKind::RunStarted {
                runner,
                environment,
                run_id,
                started,
                ..
            } => {
                self.head.runner = (*runner).to_owned();
                self.head.environment = environment.clone();
                self.head.run_id = run_id.clone();
                self.head.started = Some(*started);
                // A run killed before its first scenario ends still leaves a page.
                self.write();
            }
            EventKind::ScenarioStarted { .. } => {
                self.head.any_ran = true;
                self.running = Some(Running {
                    suite: event.suite.clone(),
                    scenario: event.scenario.clone(),
                    timeline: Timeline::new(event.t),
                });
            }
            EventKind::ScenarioFinished {
                case,
                path,
                events_dropped,
            } => {
                let timeline = self.timeline_of(event).map(std::mem::take);
                self.running = None;
                let number = self.sections.len() + 1;
                self.sections.push(section::section(
                    number,
                    &case.0,
                    path,
                    timeline.as_ref(),
                    event.t,
                    *events_dropped,
                ));
                self.write();
            }
            EventKind::RunFinished { interrupted, .. } => {
                self.head.finished = true;
                self.head.interrupted = *interrupted;
                self.write();
            }
            _ => {
                if let Some(timeline) = self.timeline_of(event) {
                    timeline.event(event);
                }
            }
        }
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        if !self.written {
            self.write();
        }
        self.error.take().map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    /// A report case for the page's tests: key and tags with characters to escape, and a log.
    pub(super) fn case(
        name: &str,
        outcome: crate::report::CaseOutcome,
    ) -> crate::report::CaseReport {
        crate::report::CaseReport {
            name: name.into(),
            classname: "fixture".into(),
            outcome,
            elapsed: std::time::Duration::from_millis(20),
            properties: vec![
                ("test_key".into(), "PZ-<1>".into()),
                ("tags".into(), "smoke,db".into()),
            ],
            system_out: "<b>log</b>".into(),
            system_err: None,
        }
    }

    use super::*;
    use crate::report::{CaseOutcome, CaseReport, Counts, ErrorKind};
    use crate::run::events::{FaultKind, FinishedCase, RemovedBy};
    use std::time::{Duration, SystemTime};

    fn event(ms: u64, scenario: Option<&str>, kind: EventKind) -> RunEvent {
        RunEvent {
            t: Duration::from_millis(ms),
            suite: scenario.map(|_| "fixture".into()),
            scenario: scenario.map(Into::into),
            kind,
        }
    }

    fn started() -> EventKind {
        EventKind::RunStarted {
            schema: 1,
            runner: "0.1.0",
            environment: "sim".into(),
            run_id: "run-1".into(),
            started: SystemTime::now(),
        }
    }

    fn finished(name: &str, outcome: CaseOutcome) -> EventKind {
        EventKind::ScenarioFinished {
            case: FinishedCase(Arc::new(CaseReport {
                name: name.into(),
                classname: "fixture".into(),
                outcome,
                elapsed: Duration::from_millis(40),
                properties: Vec::new(),
                system_out: String::new(),
                system_err: None,
            })),
            path: "fixture.wasm".into(),
            events_dropped: 0,
        }
    }

    fn run_finished(interrupted: bool) -> EventKind {
        EventKind::RunFinished {
            counts: Counts::default(),
            interrupted,
        }
    }

    /// The page's tags are balanced: a crude well-formedness check for the elements it uses.
    fn assert_balanced(html: &str) {
        for tag in [
            "section", "main", "header", "svg", "g", "ol", "table", "details", "p",
        ] {
            let open = html.matches(&format!("<{tag} ")).count()
                + html.matches(&format!("<{tag}>")).count();
            let close = html.matches(&format!("</{tag}>")).count();
            assert_eq!(
                open, close,
                "<{tag}> opened {open} times, closed {close}:\n{html}"
            );
        }
    }

    #[test]
    fn a_run_with_only_a_summary_yields_a_page_that_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.html");
        let mut report = HtmlReport::new(path.clone());
        report.event(&event(0, None, started()));
        report.event(&event(
            1,
            Some("load"),
            finished(
                "load",
                CaseOutcome::Error {
                    kind: ErrorKind::Load,
                    message: "random_bytes.wasm is not a WebAssembly file".into(),
                    detail: "random_bytes.wasm is not a WebAssembly file".into(),
                },
            ),
        ));
        report.event(&event(2, None, run_finished(false)));
        assert!(report.finish().is_ok());
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains(r#"id="summary-only""#), "{html}");
        assert!(html.contains("No scenario ran"), "{html}");
        assert!(html.contains("not a WebAssembly file"), "{html}");
        assert!(
            html.contains("did not start, so it has no timeline"),
            "{html}"
        );
        assert_balanced(&html);

        let mut nothing = HtmlReport::new(dir.path().join("empty.html"));
        nothing.event(&event(0, None, started()));
        nothing.event(&event(5, None, run_finished(true)));
        let html = nothing.html();
        assert!(html.contains("nothing was loaded"), "{html}");
        assert!(html.contains(r#"id="interrupted""#), "{html}");
        assert!(html.contains("0 scenarios passed or skipped"), "{html}");
        assert_balanced(&html);
    }

    #[test]
    fn the_page_is_written_after_each_scenario_with_its_timeline_then_kept_small() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r").join("report.html");
        let mut report = HtmlReport::new(path.clone());
        let s = Some("fails");
        report.event(&event(0, None, started()));
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(html.contains(r#"id="unfinished""#), "{html}");
        report.event(&event(
            10,
            s,
            EventKind::ScenarioStarted {
                key: None,
                tags: Vec::new(),
            },
        ));
        for (fault, kind) in [(1, FaultKind::Scale), (2, FaultKind::Block)] {
            report.event(&event(
                20 + fault,
                s,
                EventKind::FaultApplied {
                    fault,
                    workload: "mongodb".into(),
                    kind,
                    label: format!("fault {fault}"),
                },
            ));
        }
        report.event(&event(
            30,
            s,
            EventKind::Annotation {
                key: "status".into(),
                value: "<200>".into(),
            },
        ));
        report.event(&event(
            40,
            s,
            EventKind::FaultRemoved {
                fault: 1,
                by: RemovedBy::Rollback,
            },
        ));
        report.event(&event(
            50,
            s,
            finished(
                "fails",
                CaseOutcome::Failed {
                    message: "expected 503".into(),
                    detail: "expected 503".into(),
                },
            ),
        ));
        // Written already, before the run ends: a killed run leaves a page.
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(html.contains(r#"id="unfinished""#), "{html}");
        assert_eq!(html.matches(r#"class="fault-band""#).count(), 2, "{html}");
        assert!(html.contains("<td>&lt;200&gt;</td>"), "{html}");
        assert!(report.running.is_none());
        assert_balanced(&html);

        report.event(&event(60, None, run_finished(false)));
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(!html.contains(r#"id="unfinished""#), "{html}");
        assert!(
            html.contains(r##"<a href="#s-1">fixture::fails</a>"##),
            "{html}"
        );
        assert!(report.finish().is_ok());
    }

    #[test]
    fn a_folder_that_cannot_be_written_is_an_error_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let mut report = HtmlReport::new(blocker.join("report.html"));
        report.event(&event(0, None, run_finished(false)));
        let error = report.finish().unwrap_err();
        assert_eq!(error.what, "HTML report");
    }
}
