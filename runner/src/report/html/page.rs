//! The document: HTML escaping ([`escape`]) and the whole page ([`page`]): the run's summary,
//! its notices, the scenarios that did not pass, then every scenario's section, with the
//! inline style sheet (`style.css`). The page holds no script and fetches nothing: its
//! Content-Security-Policy allows only inline style and `data:` images.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::section::{Section, badge, message_of};
use super::svg::secs;
use crate::report::Counts;

/// The page's Content-Security-Policy: nothing may be fetched, and no script may run.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// `text` made safe for HTML text and attribute values: `&`, `<`, `>`, `"` and `'` escaped;
/// ANSI escape sequences and control characters other than newline and tab dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            c if c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
    out
}

/// What the page says about the run as a whole.
#[derive(Debug, Clone, Default)]
pub struct RunHead {
    /// The environment's name.
    pub environment: String,
    /// The run's id.
    pub run_id: String,
    /// The runner's version.
    pub runner: String,
    /// The wall-clock start, once `run-started` came.
    pub started: Option<SystemTime>,
    /// Since the start, up to the last event.
    pub elapsed: Duration,
    /// Whether `run-finished` came.
    pub finished: bool,
    /// Whether a signal cut the run short.
    pub interrupted: bool,
    /// Whether any scenario started (rather than being reported as not run).
    pub any_ran: bool,
}

fn counts(sections: &[Section]) -> Counts {
    let mut counts = Counts::default();
    for section in sections {
        counts.add(&section.outcome);
    }
    counts
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The whole page: the run's summary, its notices, the scenarios that did not pass (with links
/// to their sections), then every scenario's section in run order.
pub fn page(head: &RunHead, sections: &[Section]) -> String {
    let counts = counts(sections);
    let bad: Vec<&Section> = sections.iter().filter(|s| s.outcome.is_bad()).collect();
    let verdict = if bad.is_empty() {
        format!(
            "{} passed or skipped",
            plural(counts.total, "scenario", "scenarios")
        )
    } else {
        format!("{} of {} did not pass", bad.len(), counts.total)
    };
    let mut h = String::with_capacity(16 << 10);
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{CSP}"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>{}Scenario report: {} on {}</title><style>{STYLE}</style></head><body>"#,
        if bad.is_empty() { "" } else { "✗ " },
        escape(&verdict),
        escape(&head.environment)
    );
    let run_class = if bad.is_empty() { "good" } else { "bad" };
    let _ = write!(
        h,
        r#"<header id="run" class="{run_class}" data-finished="{}" data-interrupted="{}"><h1>Scenario report</h1><p class="verdict">{}</p><dl class="facts">"#,
        head.finished,
        head.interrupted,
        escape(&verdict)
    );
    let _ = write!(
        h,
        "<dt>Environment</dt><dd>{}</dd>",
        escape(&head.environment)
    );
    if let Some(started) = head.started {
        let started = chrono::DateTime::<chrono::Utc>::from(started);
        let _ = write!(
            h,
            "<dt>Started</dt><dd>{}</dd>",
            started.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    let _ = write!(h, "<dt>Duration</dt><dd>{}</dd>", secs(head.elapsed));
    if !head.run_id.is_empty() {
        let _ = write!(h, "<dt>Run id</dt><dd>{}</dd>", escape(&head.run_id));
    }
    if !head.runner.is_empty() {
        let _ = write!(
            h,
            "<dt>Runner</dt><dd>scenario-runner {}</dd>",
            escape(&head.runner)
        );
    }
    h.push_str("</dl><ul class=\"counts\">");
    for (n, one, many, class) in [
        (counts.failed, "failed", "failed", "failed"),
        (counts.errors, "error", "errors", "error"),
        (counts.passed, "passed", "passed", "passed"),
        (counts.skipped, "skipped", "skipped", "skipped"),
    ] {
        let _ = write!(
            h,
            r#"<li class="count {class}" data-count="{n}">{}</li>"#,
            plural(n, one, many)
        );
    }
    h.push_str("</ul></header>");
    notices(&mut h, head, sections);
    if bad.is_empty() {
        h.push_str(r#"<section id="failures" class="none"><h2>Not passed</h2><p>Every scenario passed or was skipped.</p></section>"#);
    } else {
        let _ = write!(
            h,
            r#"<section id="failures"><h2>Not passed ({})</h2><ol>"#,
            bad.len()
        );
        for section in &bad {
            let (text, class) = badge(&section.outcome);
            let (message, _) = message_of(&section.outcome);
            let _ = write!(
                h,
                r##"<li class="{class}"><span class="badge {class}">{text}</span> <a href="#s-{}">{}</a>"##,
                section.number,
                escape(&section.name)
            );
            if let Some(message) = message {
                let _ = write!(h, r#" <span class="message">{}</span>"#, escape(&message));
            }
            h.push_str("</li>");
        }
        h.push_str("</ol></section>");
    }
    let _ = write!(
        h,
        r#"<main id="scenarios"><h2>Scenarios in run order ({})</h2>"#,
        counts.total
    );
    for section in sections {
        h.push_str(&section.html);
    }
    h.push_str("</main></body></html>\n");
    h
}

/// What the reader must know before the scenarios: a run that did not finish, was
/// interrupted, or has only a summary.
fn notices(h: &mut String, head: &RunHead, sections: &[Section]) {
    if !head.finished {
        let _ = write!(
            h,
            r#"<p class="notice" id="unfinished">This run had not finished when this page was written: it shows the {} that had ended. If the run was killed, this is all there is.</p>"#,
            plural(sections.len(), "scenario", "scenarios")
        );
    }
    if head.interrupted {
        h.push_str(r#"<p class="notice" id="interrupted">This run was interrupted (SIGINT or SIGTERM): the scenario that was running was stopped and rolled back, and those after it did not run.</p>"#);
    }
    if head.finished && !head.any_ran {
        let why = if sections.is_empty() {
            "No scenario ran and nothing was loaded: this page has only the run's summary."
        } else {
            "No scenario ran: this page has only the run's summary. The entries below say why each did not run (a component that did not load, an environment that did not open, or an interrupted start)."
        };
        let _ = write!(h, r#"<p class="notice" id="summary-only">{why}</p>"#);
    }
}

/// The inline style sheet.
const STYLE: &str = include_str!("style.css");

#[cfg(test)]
mod tests {
    use super::super::section::section;
    use super::*;
    use crate::report::CaseOutcome;
    use std::path::Path;

    #[test]
    fn guest_text_cannot_make_markup() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(
            escape("a\u{1b}[31mred\u{1b}[0m\u{7}\nb\tc\u{0}"),
            "ared\nb\tc"
        );
    }

    use super::super::tests::case;

    #[test]
    fn failures_come_first_with_links_to_their_sections() {
        let sections = vec![
            section(
                1,
                &case("ok", CaseOutcome::Passed),
                Path::new("a"),
                None,
                Duration::ZERO,
                0,
            ),
            section(
                2,
                &case(
                    "bad",
                    CaseOutcome::Failed {
                        message: "no 503".into(),
                        detail: "no 503".into(),
                    },
                ),
                Path::new("a"),
                None,
                Duration::ZERO,
                0,
            ),
        ];
        let head = RunHead {
            environment: "sim".into(),
            finished: true,
            any_ran: true,
            ..RunHead::default()
        };
        let html = page(&head, &sections);
        let failures = html.find(r#"id="failures""#).unwrap();
        assert!(failures < html.find(r#"id="s-1""#).unwrap());
        assert!(html[failures..].contains(r##"<a href="#s-2">fixture::bad</a>"##));
        assert!(html.contains("1 of 2 did not pass"), "{html}");
        assert!(html.contains(CSP));
        assert!(
            !html.contains("<script") && !html.contains("http://"),
            "{html}"
        );
        assert!(!html.contains(r#"id="summary-only""#));
    }
}
