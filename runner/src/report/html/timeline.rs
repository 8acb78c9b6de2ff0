//! One scenario's timeline: what the page draws of it, kept from its events while it runs
//! ([`Timeline::event`]) and drawn as an inline SVG when it ends ([`Timeline::svg`]). The x
//! axis is the time since the scenario started; fault windows are bands (one row each), each
//! request is a mark at the time it was sent with its latency on the y axis and its status
//! class as its colour, and the steady-state waits and the rollback steps are spans on lanes
//! of their own, each with a line across the chart where it ended.

use std::fmt::Write as _;
use std::time::Duration;

use super::svg::secs;
use crate::run::events::{EventKind, FaultKind, Phase, RemovedBy, RunEvent};

/// The most fault bands one timeline draws; the rest are counted and said.
pub const MAX_BANDS: usize = 500;
/// The most request marks one timeline draws; the rest are counted and said.
pub const MAX_MARKS: usize = 5_000;
/// The most annotations one scenario's table shows (the host keeps no more either).
pub const MAX_ANNOTATIONS: usize = crate::host::annotations::MAX_COUNT;
/// The most rollback steps and steady-state waits one timeline draws.
pub const MAX_STEPS: usize = 1_000;

/// A change to the environment, from `fault-applied` to `fault-removed`.
#[derive(Debug, Clone)]
pub(super) struct Band {
    pub(super) fault: u64,
    pub(super) kind: FaultKind,
    pub(super) label: String,
    pub(super) from: Duration,
    pub(super) to: Option<(Duration, RemovedBy)>,
}

/// A request, from `request-sent` to `request-answered`.
#[derive(Debug, Clone)]
pub(super) struct Mark {
    pub(super) request: u64,
    pub(super) line: String,
    pub(super) sent: Duration,
    pub(super) answer: Option<(Option<u16>, Duration, Option<String>)>,
}

/// A span on the rollback lane: an undo step or a steady-state wait, ending at `at`.
#[derive(Debug, Clone)]
pub(super) struct Span {
    pub(super) at: Duration,
    pub(super) took: Duration,
    pub(super) class: &'static str,
    pub(super) ok: bool,
    pub(super) title: String,
}

/// What the page draws of one scenario, relative to its start.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    start: Duration,
    pub(super) bands: Vec<Band>,
    pub(super) bands_left_out: u64,
    pub(super) marks: Vec<Mark>,
    pub(super) marks_left_out: u64,
    pub(super) spans: Vec<Span>,
    annotations: Vec<(String, String)>,
}

/// The class of a status, which picks its colour: `2xx`, `3xx`, `4xx`, `5xx`, `other`, or
/// `none` when there was no answer.
pub fn status_class(status: Option<u16>) -> &'static str {
    match status {
        None => "none",
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        Some(_) => "other",
    }
}

/// The name of a fault kind in the page: `scale`, `block`, `pod-deleted`, `network`, `load`.
pub fn kind_name(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::Scale => "scale",
        FaultKind::Block => "block",
        FaultKind::PodDeleted => "pod-deleted",
        FaultKind::Network => "network",
        FaultKind::Load => "load",
    }
}

impl Timeline {
    /// The timeline of a scenario that started at `start` (since the run started).
    pub fn new(start: Duration) -> Self {
        Self {
            start,
            ..Self::default()
        }
    }

    pub(super) fn since_start(&self, t: Duration) -> Duration {
        t.saturating_sub(self.start)
    }

    /// Takes one of the scenario's events; those the page does not draw are ignored.
    pub fn event(&mut self, event: &RunEvent) {
        let t = self.since_start(event.t);
        match &event.kind {
            EventKind::FaultApplied {
                fault, kind, label, ..
            } => {
                if self.bands.len() >= MAX_BANDS {
                    self.bands_left_out += 1;
                    return;
                }
                self.bands.push(Band {
                    fault: *fault,
                    kind: *kind,
                    label: label.clone(),
                    from: t,
                    to: None,
                });
            }
            EventKind::FaultRemoved { fault, by } => {
                if let Some(band) = self.bands.iter_mut().rev().find(|b| b.fault == *fault) {
                    band.to = Some((t, *by));
                }
            }
            EventKind::RequestSent {
                request,
                request_line,
            } => {
                if self.marks.len() >= MAX_MARKS {
                    self.marks_left_out += 1;
                    return;
                }
                self.marks.push(Mark {
                    request: *request,
                    line: request_line.clone(),
                    sent: t,
                    answer: None,
                });
            }
            EventKind::RequestAnswered {
                request,
                status,
                latency,
                error,
            } => {
                if let Some(mark) = self.marks.iter_mut().rev().find(|m| m.request == *request) {
                    mark.answer = Some((*status, *latency, error.clone()));
                }
            }
            EventKind::UndoStep {
                index,
                count,
                step,
                answer,
                took,
                error,
            } => {
                let mut title = format!("rollback step {index}/{count}: {step}");
                if let Some(answer) = answer {
                    let _ = write!(title, " → {answer}");
                }
                if let Some(error) = error {
                    let _ = write!(title, " FAILED: {error}");
                }
                let _ = write!(title, " ({})", secs(*took));
                self.span(t, *took, "undo-mark", error.is_none(), title);
            }
            EventKind::SteadyState {
                phase,
                held,
                took,
                message,
            } => {
                let when = match phase {
                    Phase::Before => "before the scenario",
                    Phase::After => "after the rollback",
                };
                let verdict = if *held { "held" } else { "did NOT hold" };
                let mut title = format!("steady state {when}: {verdict} ({})", secs(*took));
                if let Some(message) = message {
                    let _ = write!(title, ": {message}");
                }
                self.span(t, *took, "steady-mark", *held, title);
            }
            EventKind::Annotation { key, value } if self.annotations.len() < MAX_ANNOTATIONS => {
                self.annotations.push((key.clone(), value.clone()));
            }
            _ => {}
        }
    }

    fn span(&mut self, at: Duration, took: Duration, class: &'static str, ok: bool, title: String) {
        if self.spans.len() < MAX_STEPS {
            self.spans.push(Span {
                at,
                took,
                class,
                ok,
                title,
            });
        }
    }

    /// The annotations, in order.
    pub fn annotations(&self) -> &[(String, String)] {
        &self.annotations
    }

    /// How many fault bands the SVG draws.
    pub fn band_count(&self) -> usize {
        self.bands.len()
    }

    /// The timeline as an inline SVG, for a scenario that ended at `end` (since the run
    /// started), followed by a line saying what was left out, if anything.
    pub fn svg(&self, end: Duration) -> String {
        super::svg::Chart::new(self, self.since_start(end)).draw()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, kind: EventKind) -> RunEvent {
        RunEvent {
            t: Duration::from_millis(10_000 + ms),
            suite: Some("suite".into()),
            scenario: Some("name".into()),
            kind,
        }
    }

    fn applied(fault: u64, label: &str) -> EventKind {
        EventKind::FaultApplied {
            fault,
            workload: "mongodb".into(),
            kind: FaultKind::Scale,
            label: label.into(),
        }
    }

    #[test]
    fn one_band_per_applied_fault_and_marks_coloured_by_status() {
        let mut timeline = Timeline::new(Duration::from_secs(10));
        timeline.event(&at(100, applied(1, "mongodb scaled to 0")));
        timeline.event(&at(200, applied(2, "focus-server <blocked>")));
        timeline.event(&at(
            300,
            EventKind::RequestSent {
                request: 1,
                request_line: "GET /health on focus-server".into(),
            },
        ));
        timeline.event(&at(
            350,
            EventKind::RequestAnswered {
                request: 1,
                status: Some(503),
                latency: Duration::from_millis(50),
                error: None,
            },
        ));
        timeline.event(&at(
            400,
            EventKind::RequestSent {
                request: 2,
                request_line: "GET /x".into(),
            },
        ));
        timeline.event(&at(
            900,
            EventKind::RequestAnswered {
                request: 2,
                status: None,
                latency: Duration::from_millis(500),
                error: Some("connection refused".into()),
            },
        ));
        timeline.event(&at(
            1000,
            EventKind::FaultRemoved {
                fault: 2,
                by: RemovedBy::Rollback,
            },
        ));
        let svg = timeline.svg(Duration::from_millis(11_500));
        assert_eq!(svg.matches(r#"class="fault-band""#).count(), 2, "{svg}");
        assert_eq!(timeline.band_count(), 2);
        assert!(svg.contains(r#"data-status="5xx""#), "{svg}");
        assert!(svg.contains(r#"data-status="none""#), "{svg}");
        assert!(svg.contains("focus-server &lt;blocked&gt;"), "{svg}");
        assert!(!svg.contains("<blocked>"), "{svg}");
        assert!(
            svg.contains("still in place when the scenario ended"),
            "{svg}"
        );
        assert!(svg.contains("removed by the rollback"), "{svg}");
        assert!(
            svg.contains(">1.5 s</text>") || svg.contains(">1.4 s</text>"),
            "{svg}"
        );
    }

    #[test]
    fn bands_past_the_limit_are_counted_not_drawn() {
        let mut timeline = Timeline::new(Duration::ZERO);
        for fault in 1..=(MAX_BANDS as u64 + 3) {
            timeline.event(&at(fault, applied(fault, "x")));
        }
        let svg = timeline.svg(Duration::from_secs(20));
        assert_eq!(svg.matches(r#"class="fault-band""#).count(), MAX_BANDS);
        assert!(svg.contains("Not drawn: 3 more fault windows"), "{svg}");
    }
}
