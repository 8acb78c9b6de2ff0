//! One scenario's section of the page: its status, message, key, tags, parameters, file, the
//! full text of a failure, its timeline with a legend, its annotations as a table, its log and
//! the environment's log tails. Everything the guest or the system under test wrote is escaped.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::page::escape;
use super::svg::secs;
use super::timeline::Timeline;
use crate::report::junit::MAX_TEXT_BYTES;
use crate::report::{CaseOutcome, CaseReport};

/// The longest one-line message shown for a scenario.
const MAX_MESSAGE_CHARS: usize = 500;

/// The first line of `text`, cut to a length a summary shows.
fn one_line(text: &str) -> String {
    let line = crate::engine::one_line(text);
    if line.chars().count() <= MAX_MESSAGE_CHARS {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_MESSAGE_CHARS).collect();
    cut.push('…');
    cut
}

/// One scenario's part of the page, rendered when it ended.
#[derive(Debug, Clone)]
pub struct Section {
    /// 1-based, in run order: the section's anchor is `s-{number}`.
    pub number: usize,
    /// `suite::name`.
    pub name: String,
    /// How it ended.
    pub outcome: CaseOutcome,
    /// The section's HTML.
    pub html: String,
}

/// The badge text and CSS class of an outcome: `PASSED`/`passed`, …, `ERROR (panic)`/`error`.
pub(super) fn badge(outcome: &CaseOutcome) -> (String, &'static str) {
    let label = outcome.label();
    let text = match outcome {
        CaseOutcome::Error { kind, .. } => format!("ERROR ({kind})"),
        _ => label.to_uppercase(),
    };
    (text, label)
}

/// The one-line message of an outcome, and its full text when that says more.
pub(super) fn message_of(outcome: &CaseOutcome) -> (Option<String>, Option<&str>) {
    match outcome {
        CaseOutcome::Passed => (None, None),
        CaseOutcome::Skipped { reason } => (Some(one_line(reason)), None),
        CaseOutcome::Failed { message, detail }
        | CaseOutcome::Error {
            message, detail, ..
        } => {
            let line = one_line(message);
            let more = (detail.trim() != line.trim()).then_some(detail.as_str());
            (Some(line), more)
        }
    }
}

/// The first value of property `name`.
fn property<'a>(case: &'a CaseReport, name: &str) -> Option<&'a str> {
    case.properties
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `text` capped like the JUnit bodies, escaped, in a `<pre>`.
fn pre(class: &str, text: &str) -> String {
    let text = crate::guest_text::cap(text, MAX_TEXT_BYTES);
    format!(r#"<pre class="{class}">{}</pre>"#, escape(&text))
}

/// The section of scenario `number`: its status, message, key, tags, timeline (when it ran,
/// ending at `end` since the run started), annotations, log and environment logs.
pub fn section(
    number: usize,
    case: &CaseReport,
    path: &Path,
    timeline: Option<&Timeline>,
    end: Duration,
    events_dropped: u64,
) -> Section {
    let name = format!("{}::{}", case.classname, case.name);
    let (badge_text, class) = badge(&case.outcome);
    let (message, detail) = message_of(&case.outcome);
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<section class="scenario {class}" id="s-{number}" data-scenario="{}" data-outcome="{class}"><h3><span class="badge {class}">{badge_text}</span> {}</h3>"#,
        escape(&name),
        escape(&name)
    );
    if let Some(message) = &message {
        let _ = write!(h, r#"<p class="message">{}</p>"#, escape(message));
    }
    h.push_str(r#"<dl class="facts">"#);
    if let Some(key) = property(case, "test_key") {
        let _ = write!(h, "<dt>Key</dt><dd class=\"key\">{}</dd>", escape(key));
    }
    if let Some(tags) = property(case, "tags") {
        h.push_str("<dt>Tags</dt><dd class=\"tags\">");
        for tag in tags.split(',').filter(|t| !t.is_empty()) {
            let _ = write!(h, r#"<span class="tag">{}</span> "#, escape(tag));
        }
        h.push_str("</dd>");
    }
    let _ = write!(h, "<dt>Duration</dt><dd>{}</dd>", secs(case.elapsed));
    let params: Vec<String> = case
        .properties
        .iter()
        .filter_map(|(k, v)| Some(format!("{}={}", k.strip_prefix("param.")?, v)))
        .collect();
    if !params.is_empty() {
        let _ = write!(
            h,
            "<dt>Parameters</dt><dd>{}</dd>",
            escape(&params.join(", "))
        );
    }
    let _ = write!(
        h,
        "<dt>Component</dt><dd class=\"path\">{}</dd></dl>",
        escape(&path.display().to_string())
    );
    if let Some(detail) = detail {
        h.push_str(&pre("detail", detail));
    }
    match timeline {
        Some(timeline) => {
            h.push_str(r#"<figure class="timeline">"#);
            h.push_str(&timeline.svg(end));
            h.push_str(LEGEND);
            h.push_str("</figure>");
            if events_dropped > 0 {
                let _ = write!(
                    h,
                    r#"<p class="left-out">{events_dropped} detail events (requests, host calls, log lines) were past the run's limit per scenario and are not shown.</p>"#
                );
            }
            if timeline.annotations().is_empty() {
                h.push_str(r#"<p class="empty">No annotations.</p>"#);
            } else {
                h.push_str(r#"<table class="annotations"><thead><tr><th>Annotation</th><th>Value</th></tr></thead><tbody>"#);
                for (key, value) in timeline.annotations() {
                    let _ = write!(
                        h,
                        "<tr><td>{}</td><td>{}</td></tr>",
                        escape(key),
                        escape(value)
                    );
                }
                h.push_str("</tbody></table>");
            }
        }
        None => h.push_str(
            r#"<p class="empty not-run">This scenario did not start, so it has no timeline.</p>"#,
        ),
    }
    let open = if case.outcome.is_bad() { " open" } else { "" };
    if !case.system_out.is_empty() {
        let lines = case.system_out.lines().count();
        let _ = write!(
            h,
            r#"<details class="log"{open}><summary>Log ({lines} lines)</summary>{}</details>"#,
            pre("log", &case.system_out)
        );
    }
    if let Some(err) = case.system_err.as_deref().filter(|e| !e.is_empty()) {
        let _ = write!(
            h,
            r#"<details class="env-log"><summary>Environment log tails</summary>{}</details>"#,
            pre("log", err)
        );
    }
    h.push_str("</section>");
    Section {
        number,
        name,
        outcome: case.outcome.clone(),
        html: h,
    }
}

/// The timeline's legend.
const LEGEND: &str = concat!(
    r#"<figcaption><ul class="legend">"#,
    r#"<li><span class="sw" data-kind="scale"></span>scaled</li>"#,
    r#"<li><span class="sw" data-kind="block"></span>network blocked</li>"#,
    r#"<li><span class="sw" data-kind="pod-deleted"></span>pod deleted</li>"#,
    r#"<li><span class="sw" data-kind="network"></span>network fault (latency, bandwidth …)</li>"#,
    r#"<li><span class="sw" data-kind="load"></span>load</li>"#,
    r#"<li><span class="dot" data-status="2xx"></span>2xx</li>"#,
    r#"<li><span class="dot" data-status="3xx"></span>3xx</li>"#,
    r#"<li><span class="dot" data-status="4xx"></span>4xx</li>"#,
    r#"<li><span class="dot" data-status="5xx"></span>5xx</li>"#,
    r#"<li><span class="cross">×</span>no answer</li>"#,
    r#"<li><span class="sw undo"></span>rollback step</li>"#,
    r#"<li><span class="sw steady"></span>steady-state wait</li>"#,
    r#"<li><span class="sw bad"></span>failed step or broken steady state</li>"#,
    "</ul><p class=\"hint\">x: seconds since the scenario started; y: a request's latency. Hover a mark for its details.</p></figcaption>",
);

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::tests::case;

    #[test]
    fn a_section_escapes_what_the_guest_wrote() {
        let bad = case(
            "<img src=x>",
            CaseOutcome::Failed {
                message: "expected <503>".into(),
                detail: "expected <503>".into(),
            },
        );
        let s = section(3, &bad, Path::new("a.wasm"), None, Duration::ZERO, 0);
        assert!(s.html.contains(r#"id="s-3""#), "{}", s.html);
        assert!(s.html.contains("fixture::&lt;img src=x&gt;"), "{}", s.html);
        assert!(s.html.contains("expected &lt;503&gt;"), "{}", s.html);
        assert!(s.html.contains("PZ-&lt;1&gt;"), "{}", s.html);
        assert!(
            s.html.contains(r#"<span class="tag">db</span>"#),
            "{}",
            s.html
        );
        assert!(
            !s.html.contains("<b>") && !s.html.contains("<img"),
            "{}",
            s.html
        );
        assert!(s.html.contains("did not start, so it has no timeline"));
    }
}
