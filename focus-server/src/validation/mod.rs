//! Request validation, which runs before any database access so that a bad request gets its
//! 4xx even while MongoDB is down.
//!
//! Two stages, two statuses:
//! - [`parse_configure`] checks the *schema* (a missing required field, a wrong type, an
//!   unknown `view_type`, a body that is not a JSON object): 422;
//! - [`check_rules`] checks the *rules* (ranges, combinations, the time window): 400.
//!
//! The schema stage also refuses a body MongoDB could not store in the job record
//! ([`check_storable`]: a NUL in a field name, too deep a nesting), since the record keeps the
//! whole body.
//!
//! Every problem is one line that names the field and the rule. The first one becomes the
//! error; all of them go in `detail`. Unknown fields are ignored, as the real Focus Server
//! (a pydantic model without `extra = "forbid"`) ignores them: clients send UI state along.

mod rules;
mod schema;
mod storable;

pub use rules::{
    Limits, MAX_CHANNELS_PER_REQUEST, MAX_HEIGHT, MAX_WINDOW_SECONDS, check_rules, check_window,
};
pub use schema::{parse_configure, parse_window};
pub use storable::{MAX_DEPTH, check_storable};

/// The two request forms of `POST /configure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `POST /configure`: `displayInfo`, `channels`, `view_type`, epoch-second times.
    Modern,
    /// `POST /config/{task_id}` of the P0 ticket: `canvasInfo`, `sensors`, no `view_type`,
    /// `yymmddHHMMSS` strings.
    Legacy,
}

impl Form {
    /// The name of the display object in this form.
    pub fn display_field(self) -> &'static str {
        match self {
            Form::Modern => "displayInfo",
            Form::Legacy => "canvasInfo",
        }
    }

    /// The name of the channel range object in this form.
    pub fn channels_field(self) -> &'static str {
        match self {
            Form::Modern => "channels",
            Form::Legacy => "sensors",
        }
    }
}

/// The three views of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewType {
    /// `0`: a spectrogram per channel.
    Multichannel,
    /// `1`: one channel.
    SingleChannel,
    /// `2`: raw samples of all channels as one image.
    Waterfall,
}

impl ViewType {
    /// `"0"`, `"1"` or `"2"`, as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ViewType::Multichannel => "0",
            ViewType::SingleChannel => "1",
            ViewType::Waterfall => "2",
        }
    }

    /// A readable name for messages.
    pub fn name(self) -> &'static str {
        match self {
            ViewType::Multichannel => "multichannel view (view_type 0)",
            ViewType::SingleChannel => "single-channel view (view_type 1)",
            ViewType::Waterfall => "waterfall view (view_type 2)",
        }
    }
}

/// A configure request whose schema is valid (its rules may still be broken).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigureRequest {
    /// Which form it came in, for field names in messages.
    pub form: Form,
    /// Display height in pixels (lines).
    pub height: i64,
    /// Lowest channel.
    pub channel_min: i64,
    /// Highest channel.
    pub channel_max: i64,
    /// The view.
    pub view: ViewType,
    /// Seconds shown on the display's time axis.
    pub duration: Option<f64>,
    /// FFT size.
    pub nfft: Option<i64>,
    /// Frequency band in Hz, `(min, max)`.
    pub frequency: Option<(f64, f64)>,
    /// Start time, epoch seconds (`None`: not given).
    pub start_time: Option<f64>,
    /// End time, epoch seconds.
    pub end_time: Option<f64>,
}

impl ConfigureRequest {
    /// The historic window `(start, end)`, or `None` for live (after [`check_rules`] passed).
    pub fn window(&self) -> Option<(f64, f64)> {
        self.start_time.zip(self.end_time)
    }
}

/// One thing wrong with a request: a line that names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(pub String);

/// Why a request was refused, and with which status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// 422: the shape is wrong.
    Schema(Vec<Problem>),
    /// 400: a rule is broken.
    Rule(Vec<Problem>),
}

impl Rejection {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::Schema(_) => 422,
            Rejection::Rule(_) => 400,
        }
    }

    /// All problems, first one first.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Rejection::Schema(p) | Rejection::Rule(p) => p,
        }
    }

    /// The one-line error: the first problem.
    pub fn message(&self) -> &str {
        self.problems()
            .first()
            .map(|p| p.0.as_str())
            .unwrap_or("invalid request")
    }
}

/// A readable number: integers without a fraction, others as given.
pub(crate) fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests;
