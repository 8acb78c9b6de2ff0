//! The drawing of a [`Timeline`]: an inline SVG 1000 units wide that the page scales to its
//! width. From the top: one row per fault window, the requests (x = sent, y = latency, colour
//! = status class, a grey cross for no answer) over the windows' shading, a lane of
//! steady-state waits, a lane of rollback steps, and the axis in seconds since the scenario
//! started. Every element has a class (`fault-band`, `request-mark`, `steady-mark`,
//! `undo-mark`) and a `<title>` that a browser shows on hover.

use std::fmt::Write as _;
use std::time::Duration;

use super::page::escape;
use super::timeline::{Timeline, kind_name, status_class};
use crate::run::events::RemovedBy;

/// `1.234 s`.
pub fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// A step of about a sixth of `range` that reads well: 1, 2 or 5 times a power of ten.
fn nice_step(range: f64) -> f64 {
    let raw = (range / 6.0).max(1e-6);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// `value` with as many decimals as `step` needs.
fn tick_label(value: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{value:.decimals$}")
}

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 14.0;
const ROW: f64 = 18.0;
const GAP: f64 = 4.0;
const PLOT: f64 = 130.0;
const LANE: f64 = 20.0;

/// The geometry of one drawing.
pub(super) struct Chart<'a> {
    timeline: &'a Timeline,
    span: f64,
    latency_max: f64,
    out: String,
}

impl<'a> Chart<'a> {
    pub(super) fn new(timeline: &'a Timeline, end: Duration) -> Self {
        let last = timeline
            .bands
            .iter()
            .map(|b| b.to.map_or(b.from, |(t, _)| t))
            .chain(
                timeline
                    .marks
                    .iter()
                    .map(|m| m.sent + m.answer.as_ref().map_or(Duration::ZERO, |(_, l, _)| *l)),
            )
            .chain(timeline.spans.iter().map(|s| s.at))
            .max()
            .unwrap_or_default();
        let span = end.max(last).as_secs_f64().max(0.001);
        let latency = timeline
            .marks
            .iter()
            .filter_map(|m| m.answer.as_ref().map(|(_, l, _)| l.as_secs_f64()))
            .fold(0.0, f64::max)
            .max(0.001);
        let step = nice_step(latency);
        Self {
            timeline,
            span,
            latency_max: (latency / step).ceil() * step,
            out: String::new(),
        }
    }

    fn x(&self, t: Duration) -> f64 {
        LEFT + (t.as_secs_f64() / self.span).clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
    }

    pub(super) fn draw(mut self) -> String {
        let t = self.timeline;
        let bands_top = 6.0;
        let rows = t.bands.len().max(1) as f64;
        let plot_top = bands_top + rows * (ROW + GAP) + 6.0;
        let plot_height = if t.marks.is_empty() { 24.0 } else { PLOT };
        let steady_top = plot_top + plot_height + 8.0;
        let undo_top = steady_top + LANE;
        let axis = undo_top + LANE + 6.0;
        let height = axis + 22.0;
        let _ = write!(
            self.out,
            r#"<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="timeline">"#
        );
        self.label(bands_top + ROW - 5.0, "faults");
        self.bands(bands_top, plot_top, undo_top + LANE);
        self.requests(plot_top, plot_height);
        self.lane(steady_top, bands_top, axis, "steady-mark", "steady state");
        self.lane(undo_top, bands_top, axis, "undo-mark", "rollback");
        self.axis(axis);
        self.out.push_str("</svg>");
        let mut left_out = Vec::new();
        if t.bands_left_out > 0 {
            left_out.push(format!("{} more fault windows", t.bands_left_out));
        }
        if t.marks_left_out > 0 {
            left_out.push(format!("{} more requests", t.marks_left_out));
        }
        if !left_out.is_empty() {
            let _ = write!(
                self.out,
                r#"<p class="left-out">Not drawn: {} (past the page's limit).</p>"#,
                left_out.join(", ")
            );
        }
        self.out
    }

    /// A lane's name in the left margin.
    fn label(&mut self, y: f64, text: &str) {
        let _ = write!(
            self.out,
            r#"<text class="lane-label" x="{:.1}" y="{y:.1}" text-anchor="end">{text}</text>"#,
            LEFT - 8.0
        );
    }

    fn bands(&mut self, top: f64, plot_top: f64, bottom: f64) {
        let t = self.timeline;
        if t.bands.is_empty() {
            let _ = write!(
                self.out,
                r#"<text class="empty" x="{:.1}" y="{:.1}">no fault applied</text>"#,
                LEFT + 4.0,
                top + ROW - 5.0
            );
        }
        let end = Duration::from_secs_f64(self.span);
        for (row, band) in t.bands.iter().enumerate() {
            let y = top + row as f64 * (ROW + GAP);
            let x0 = self.x(band.from);
            let (to, removed) = match band.to {
                Some((to, RemovedBy::Scenario)) => (to, "removed by the scenario".to_owned()),
                Some((to, RemovedBy::Rollback)) => (to, "removed by the rollback".to_owned()),
                None => (end, "still in place when the scenario ended".to_owned()),
            };
            let x1 = self.x(to).max(x0 + 2.0);
            let kind = kind_name(band.kind);
            let label = escape(&band.label);
            let title = format!(
                "{label}: from {} to {} ({removed})",
                secs(band.from),
                secs(to)
            );
            // The window shades the request plot and the rollback lane too.
            let _ = write!(
                self.out,
                r#"<rect class="fault-shade" data-kind="{kind}" x="{x0:.1}" y="{plot_top:.1}" width="{:.1}" height="{:.1}"/>"#,
                x1 - x0,
                bottom - plot_top
            );
            let _ = write!(
                self.out,
                r#"<g class="fault-band" data-kind="{kind}" data-fault="{}"><title>{title}</title><rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{ROW}" rx="3"/><text x="{:.1}" y="{:.1}">{label}</text></g>"#,
                band.fault,
                x1 - x0,
                x0 + 4.0,
                y + ROW - 5.0
            );
        }
    }

    fn requests(&mut self, top: f64, height: f64) {
        let t = self.timeline;
        let bottom = top + height;
        let _ = write!(
            self.out,
            r#"<line class="frame" x1="{LEFT}" y1="{top:.1}" x2="{LEFT}" y2="{bottom:.1}"/>"#
        );
        if t.marks.is_empty() {
            self.label(top + 16.0, "requests");
            let _ = write!(
                self.out,
                r#"<text class="empty" x="{:.1}" y="{:.1}">no request sent</text>"#,
                LEFT + 4.0,
                top + 16.0
            );
            return;
        }
        // The latency axis, in ms under 2 s, else in s.
        let in_ms = self.latency_max < 2.0;
        let (scale, unit) = if in_ms { (1000.0, "ms") } else { (1.0, "s") };
        let step = nice_step(self.latency_max * scale);
        let mut value = 0.0;
        while value <= self.latency_max * scale + step * 1e-6 {
            let y = bottom - value / (self.latency_max * scale) * height;
            let _ = write!(
                self.out,
                r#"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{} {unit}</text>"#,
                WIDTH - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                tick_label(value, step)
            );
            value += step;
        }
        let _ = write!(
            self.out,
            r#"<text class="lane-label" x="12" y="{:.1}" transform="rotate(-90 12 {:.1})" text-anchor="middle">latency</text>"#,
            top + height / 2.0,
            top + height / 2.0
        );
        for mark in &t.marks {
            let x = self.x(mark.sent);
            let (status, latency, error) = match &mark.answer {
                Some((status, latency, error)) => (*status, Some(*latency), error.as_deref()),
                None => (None, None, Some("no answer recorded")),
            };
            let class = status_class(status);
            let y = match latency {
                Some(l) => bottom - (l.as_secs_f64() / self.latency_max).min(1.0) * height,
                None => top,
            };
            let mut title = format!(
                "#{} {} at {}",
                mark.request,
                escape(&mark.line),
                secs(mark.sent)
            );
            if let Some(status) = status {
                let _ = write!(title, ": {status}");
            }
            if let Some(latency) = latency {
                let _ = write!(title, " after {:.1} ms", latency.as_secs_f64() * 1000.0);
            }
            if let Some(error) = error {
                let _ = write!(title, ": {}", escape(error));
            }
            let shape = if status.is_some() {
                format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="4"/>"#)
            } else {
                format!(
                    r#"<path d="M{:.1} {:.1}l8 8m0 -8l-8 8"/>"#,
                    x - 4.0,
                    y - 4.0
                )
            };
            let _ = write!(
                self.out,
                r#"<g class="request-mark" data-status="{class}"><title>{title}</title>{shape}</g>"#
            );
        }
    }

    /// The lane of the spans of `class`, each with a line across the chart at its end.
    fn lane(&mut self, top: f64, chart_top: f64, axis: f64, class: &str, label: &str) {
        self.label(top + LANE - 6.0, label);
        for span in self.timeline.spans.iter().filter(|s| s.class == class) {
            let x1 = self.x(span.at);
            let x0 = self.x(span.at.saturating_sub(span.took)).min(x1 - 2.0);
            let ok = if span.ok { "ok" } else { "bad" };
            let _ = write!(
                self.out,
                r#"<g class="{}" data-ok="{ok}"><title>{}</title><line x1="{x1:.1}" y1="{chart_top:.1}" x2="{x1:.1}" y2="{axis:.1}"/><rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="2"/></g>"#,
                span.class,
                escape(&span.title),
                top + 3.0,
                x1 - x0,
                LANE - 6.0
            );
        }
    }

    fn axis(&mut self, y: f64) {
        let _ = write!(
            self.out,
            r#"<line class="axis" x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/>"#,
            WIDTH - RIGHT
        );
        let step = nice_step(self.span);
        let mut value = 0.0;
        while value <= self.span + step * 1e-6 {
            let x = self.x(Duration::from_secs_f64(value));
            let _ = write!(
                self.out,
                r#"<line class="axis" x1="{x:.1}" y1="{y:.1}" x2="{x:.1}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{} s</text>"#,
                y + 4.0,
                y + 16.0,
                tick_label(value, step)
            );
            value += step;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_read_well() {
        assert_eq!(nice_step(6.0), 1.0);
        assert_eq!(nice_step(1.2), 0.2);
        assert_eq!(nice_step(25.0), 5.0);
        assert_eq!(tick_label(0.4, 0.2), "0.4");
        assert_eq!(tick_label(10.0, 5.0), "10");
    }
}
