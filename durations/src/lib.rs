//! The project's one duration parser. Every duration that comes from a person (flags, config
//! files, the `timeout = "…"` attribute) or from the system under test (`Retry-After`) goes
//! through here, so they all read the same way and none of them can panic or overflow:
//!
//! - text: `30s`, `2m`, `1m30s`, `500ms`, `1.5s`, `1h`, or a plain number of seconds (`45`,
//!   `0.25`); whitespace between the parts is allowed (`1m 30s`);
//! - numbers of seconds from a config file: [`from_secs_f64`];
//! - every result lies within explicit [`Bounds`] (at most [`MAX`], a week, unless a caller
//!   asks for less); anything else is a [`DurationError`] that names the key and says what to
//!   write instead;
//! - a deadline is computed with [`deadline_after`], which never overflows an `Instant`.

mod text;

use std::fmt;
use std::time::{Duration, Instant};

use text::Parsed;

/// The longest duration the project accepts anywhere: 7 days.
pub const MAX: Duration = Duration::from_secs(7 * 24 * 3600);

/// The range a duration must lie in, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The shortest accepted duration.
    pub min: Duration,
    /// The longest accepted duration.
    pub max: Duration,
}

impl Bounds {
    /// A timeout: at least 1 ms, at most [`MAX`].
    pub const TIMEOUT: Bounds = Bounds {
        min: Duration::from_millis(1),
        max: MAX,
    };
    /// A delay that may be zero: at most [`MAX`].
    pub const DELAY: Bounds = Bounds {
        min: Duration::ZERO,
        max: MAX,
    };

    /// These bounds with another minimum.
    pub const fn at_least(self, min: Duration) -> Bounds {
        Bounds { min, max: self.max }
    }

    /// These bounds with another maximum.
    pub const fn at_most(self, max: Duration) -> Bounds {
        Bounds { min: self.min, max }
    }

    /// `value` clamped into these bounds.
    pub fn clamp(self, value: Duration) -> Duration {
        value.clamp(self.min, self.max.max(self.min))
    }

    fn check(self, key: &str, text: &str, value: Duration) -> Result<Duration, DurationError> {
        if value < self.min {
            return Err(DurationError::TooShort {
                key: key.to_owned(),
                text: text.to_owned(),
                min: format(self.min),
            });
        }
        if value > self.max {
            return Err(DurationError::TooLong {
                key: key.to_owned(),
                text: text.to_owned(),
                max: format(self.max),
            });
        }
        Ok(value)
    }
}

/// Why a duration was refused. Each message names the key (when known) and says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is not in any accepted form.
    #[error(
        "{}{text:?} is not a duration: write it like 30s, 2m, 1m30s, 500ms, 1.5s or a number of seconds",
        prefix(key)
    )]
    Malformed {
        /// What was being set (`--timeout`, `runner.default_timeout_s`…); empty when unknown.
        key: String,
        /// What was given.
        text: String,
    },
    /// Not a finite number, or negative.
    #[error(
        "{}{text} is not a duration: write a positive, finite number of seconds such as 30 or 1.5",
        prefix(key)
    )]
    NotANumber {
        /// What was being set; empty when unknown.
        key: String,
        /// What was given.
        text: String,
    },
    /// Shorter than the bounds allow.
    #[error("{}{text} is too short: write at least {min}", prefix(key))]
    TooShort {
        /// What was being set; empty when unknown.
        key: String,
        /// What was given.
        text: String,
        /// The shortest accepted duration, written like the input.
        min: String,
    },
    /// Longer than the bounds allow.
    #[error("{}{text} is too long: write at most {max}", prefix(key))]
    TooLong {
        /// What was being set; empty when unknown.
        key: String,
        /// What was given.
        text: String,
        /// The longest accepted duration, written like the input.
        max: String,
    },
}

fn prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    }
}

/// Parses `text` (`30s`, `2m`, `1m30s`, `500ms`, `1.5s`, `45`…) as the value of `key`, within
/// `bounds`. Never panics, whatever the text.
pub fn parse(key: &str, text: &str, bounds: Bounds) -> Result<Duration, DurationError> {
    match text::parse_parts(text) {
        Parsed::Value(value) => bounds.check(key, text.trim(), value),
        Parsed::Overflow => Err(DurationError::TooLong {
            key: key.to_owned(),
            text: text.trim().to_owned(),
            max: format(bounds.max),
        }),
        // Not our grammar: a number such as `-1`, `1e30` or `nan` gets the number's message.
        Parsed::NotOurs => match text.trim().parse::<f64>() {
            Ok(seconds) => from_secs_f64(key, seconds, bounds),
            Err(_) => Err(DurationError::Malformed {
                key: key.to_owned(),
                text: text.to_owned(),
            }),
        },
    }
}

/// A number of seconds (from a config file or a header) as the value of `key`, within `bounds`.
/// NaN, infinities, negatives and values beyond the bounds are errors, never panics.
pub fn from_secs_f64(key: &str, seconds: f64, bounds: Bounds) -> Result<Duration, DurationError> {
    let text = format!("{seconds:?}");
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(DurationError::NotANumber {
            key: key.to_owned(),
            text,
        });
    }
    match Duration::try_from_secs_f64(seconds) {
        Ok(value) => bounds.check(key, &text, value),
        Err(_) => Err(DurationError::TooLong {
            key: key.to_owned(),
            text,
            max: format(bounds.max),
        }),
    }
}

/// A number of nanoseconds (a contract `duration`, from a scenario) as the value of `key`,
/// within `bounds`: a value beyond them is an error that names it, never a panic.
pub fn from_nanos(key: &str, nanos: u64, bounds: Bounds) -> Result<Duration, DurationError> {
    let value = Duration::from_nanos(nanos);
    bounds.check(key, &format(value), value)
}

/// `now + after`, or, when that would overflow the clock, the latest instant a week past `now`
/// — never a panic.
pub fn deadline_after(now: Instant, after: Duration) -> Instant {
    now.checked_add(after.min(MAX))
        .or_else(|| now.checked_add(Duration::from_secs(3600)))
        .unwrap_or(now)
}

/// `duration` written the way [`parse`] reads it: `1h30m`, `2m`, `1.5s`, `500ms`, `0s`.
pub fn format(duration: Duration) -> String {
    Formatted(duration).to_string()
}

struct Formatted(Duration);

impl fmt::Display for Formatted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        let whole = d.as_secs();
        let nanos = d.subsec_nanos();
        if whole == 0 && nanos == 0 {
            return f.write_str("0s");
        }
        if whole == 0 && nanos.is_multiple_of(1_000_000) {
            return write!(f, "{}ms", nanos / 1_000_000);
        }
        let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        match (s, nanos) {
            (0, 0) => Ok(()),
            (s, 0) => write!(f, "{s}s"),
            (s, n) => {
                let fraction = format!("{n:09}");
                write!(f, "{s}.{}s", fraction.trim_end_matches('0'))
            }
        }
    }
}

#[cfg(feature = "serde")]
pub mod serde_text;

#[cfg(test)]
mod tests;
