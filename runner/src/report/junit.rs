//! The JUnit XML report, written with quick-junit, in the shape CI systems read: one
//! `<testsuite>` per component file, one `<testcase>` per scenario (classname = component,
//! name = scenario), `<failure>` for an assertion and `<error>` for anything that kept a
//! scenario from a verdict, one-line messages with a `type` and the full text in the body,
//! per-testcase `<properties>` (annotations, `tags`, `test_key`), output capped at 64 KiB
//! (head and tail), and no character that XML consumers reject.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, FixedOffset, Utc};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::collect::Collector;
use super::{CaseOutcome, CaseReport, RunReport, SuiteReport};
use crate::run::events::{Reporter, RunEvent};

/// The most text kept in one `<system-out>`, `<system-err>` or message body.
pub const MAX_TEXT_BYTES: usize = 64 << 10;
/// The longest one-line `message` attribute.
const MAX_MESSAGE_CHARS: usize = 500;

pub use super::WriteError;

/// Removes what XML 1.0 and strict consumers reject and quick-junit leaves: U+FFFE, U+FFFF
/// (quick-junit itself strips ANSI escapes and C0 control characters).
pub fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        .collect()
}

/// One line, cleaned and cut to a length a CI summary shows.
fn message_line(text: &str) -> String {
    let line = clean(&crate::engine::one_line(text));
    if line.chars().count() <= MAX_MESSAGE_CHARS {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_MESSAGE_CHARS).collect();
    cut.push('…');
    cut
}

fn body(text: &str) -> String {
    clean(&crate::guest_text::cap(text, MAX_TEXT_BYTES))
}

fn timestamp(time: SystemTime) -> DateTime<FixedOffset> {
    DateTime::<Utc>::from(time).fixed_offset()
}

/// This machine's name, for the testsuite's `hostname`.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if rc != 0 || end == 0 {
        return "localhost".to_owned();
    }
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn testcase(case: &CaseReport) -> TestCase {
    let status = match &case.outcome {
        CaseOutcome::Passed => TestCaseStatus::success(),
        CaseOutcome::Skipped { reason } => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(message_line(reason));
            status
        }
        CaseOutcome::Failed { message, detail } => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(message_line(message))
                .set_type("assertion")
                .set_description(body(detail));
            status
        }
        CaseOutcome::Error {
            kind,
            message,
            detail,
        } => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message(message_line(message))
                .set_type(kind.as_str())
                .set_description(body(detail));
            status
        }
    };
    let mut testcase = TestCase::new(clean(&case.name), status);
    testcase
        .set_classname(clean(&case.classname))
        .set_time(case.elapsed);
    for (name, value) in &case.properties {
        testcase.add_property(Property::new(clean(name), clean(value)));
    }
    if !case.system_out.is_empty() {
        testcase.set_system_out(body(&case.system_out));
    }
    if let Some(err) = case.system_err.as_deref().filter(|e| !e.is_empty()) {
        testcase.set_system_err(body(err));
    }
    testcase
}

fn testsuite(suite: &SuiteReport, host: &str) -> TestSuite {
    let mut testsuite = TestSuite::new(clean(&suite.name));
    testsuite
        .set_timestamp(timestamp(suite.started))
        .set_time(suite.elapsed);
    testsuite
        .extra
        .insert("hostname".into(), clean(host).into());
    testsuite.extra.insert(
        "file".into(),
        clean(&suite.path.display().to_string()).into(),
    );
    testsuite.add_test_cases(suite.cases.iter().map(testcase));
    testsuite
}

/// The report as JUnit XML text.
pub fn to_xml(run: &RunReport) -> Result<String, String> {
    let host = hostname();
    let mut report = Report::new("scenario-runner");
    report.set_time(run.elapsed);
    report.add_test_suites(run.suites.iter().map(|s| testsuite(s, &host)));
    let xml = report.to_string().map_err(|e| e.to_string())?;
    Ok(drop_root_skipped(&xml))
}

/// quick-junit always writes `skipped` on `<testsuites>`, which the xUnit schema (and Jenkins)
/// do not allow there; the per-suite counts carry it.
fn drop_root_skipped(xml: &str) -> String {
    let Some(start) = xml.find("<testsuites") else {
        return xml.to_owned();
    };
    let end = start + xml[start..].find('>').unwrap_or(0);
    let root = &xml[start..end];
    let Some(at) = root.find(" skipped=\"") else {
        return xml.to_owned();
    };
    let value_end = root[at + 10..]
        .find('"')
        .map(|i| at + 10 + i + 1)
        .unwrap_or(root.len());
    format!(
        "{}{}{}{}",
        &xml[..start],
        &root[..at],
        &root[value_end..],
        &xml[end..]
    )
}

/// Writes the report to `path` (creating its folder), through a temporary file and a rename so
/// that a reader never sees half a report.
pub fn write(run: &RunReport, path: &Path) -> Result<(), WriteError> {
    let xml = to_xml(run).map_err(|reason| WriteError {
        what: "JUnit report",
        path: path.to_owned(),
        reason,
    })?;
    super::write_file("JUnit report", path, xml.as_bytes())
}

/// Keeps the JUnit file current from the run's events: rewritten after each scenario and at
/// the end, so that even a killed run leaves one.
pub struct JunitWriter {
    path: PathBuf,
    collector: Collector,
    error: Option<WriteError>,
}

impl JunitWriter {
    /// A writer of the report at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            collector: Collector::default(),
            error: None,
        }
    }
}

impl Reporter for JunitWriter {
    fn event(&mut self, event: &RunEvent) {
        if self.collector.event(event) {
            self.error = write(self.collector.report(), &self.path).err();
        }
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        self.error.take().map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn case(name: &str, outcome: CaseOutcome) -> CaseReport {
        CaseReport {
            name: name.into(),
            classname: "fixture".into(),
            outcome,
            elapsed: Duration::from_millis(1234),
            properties: vec![
                ("test_key".into(), "PZ-13640".into()),
                ("tags".into(), "p0,mongodb".into()),
            ],
            system_out: "line one\nline \u{FFFE}two\u{1b}[31m red\u{1b}[0m\x07".into(),
            system_err: None,
        }
    }

    #[test]
    fn outcomes_map_to_failure_error_and_skipped() {
        let run = RunReport {
            environment: "memory".into(),
            started: SystemTime::now(),
            elapsed: Duration::from_secs(2),
            interrupted: false,
            suites: vec![SuiteReport {
                name: "fixture".into(),
                path: "fixture.wasm".into(),
                started: SystemTime::now(),
                elapsed: Duration::from_secs(2),
                cases: vec![
                    case("ok", CaseOutcome::Passed),
                    case(
                        "bad",
                        CaseOutcome::Failed {
                            message: "expected 503\nmore".into(),
                            detail: "expected 503\nmore".into(),
                        },
                    ),
                    case(
                        "boom",
                        CaseOutcome::Error {
                            kind: crate::report::ErrorKind::Panic,
                            message: "panicked".into(),
                            detail: "full".into(),
                        },
                    ),
                    case(
                        "later",
                        CaseOutcome::Skipped {
                            reason: "no refuse mode".into(),
                        },
                    ),
                ],
            }],
        };
        let xml = to_xml(&run).unwrap();
        assert!(
            xml.contains(r#"<failure message="expected 503" type="assertion">expected 503"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<error message="panicked" type="panic">full</error>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<skipped message="no refuse mode"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<property name="test_key" value="PZ-13640"/>"#),
            "{xml}"
        );
        assert!(xml.contains(r#"time="1.234""#), "{xml}");
        assert!(
            xml.contains("hostname=") && xml.contains("timestamp="),
            "{xml}"
        );
        assert!(
            !xml.contains('\u{FFFE}') && !xml.contains('\u{1b}') && !xml.contains('\u{7}'),
            "{xml}"
        );
        assert!(xml.contains("line two red"), "{xml}");
        let root = xml.lines().find(|l| l.starts_with("<testsuites")).unwrap();
        assert!(
            !root.contains("skipped=") && root.contains("failures=\"1\""),
            "{root}"
        );
    }

    #[test]
    fn long_text_keeps_head_and_tail() {
        let text = format!("HEAD{}TAIL", "x".repeat(200_000));
        let capped = crate::guest_text::cap(&text, MAX_TEXT_BYTES);
        assert!(capped.len() < MAX_TEXT_BYTES + 100);
        assert!(capped.starts_with("HEAD") && capped.ends_with("TAIL"));
        assert!(capped.contains("bytes cut …]"));
        let multibyte = "é".repeat(100);
        assert!(crate::guest_text::cap(&multibyte, 51).is_char_boundary(0));
    }
}
