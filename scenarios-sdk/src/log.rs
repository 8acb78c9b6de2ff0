//! The scenario's log and its measured figures: [`log`], [`annotate`], and the [`info!`]-style
//! macros.
//!
//! [`info!`]: crate::info

use std::fmt::Display;
use std::time::Duration;

use crate::bindings::focus::scenario::runtime;

/// How important a log line is.
///
/// ```no_run
/// use scenarios_sdk::{Level, log};
///
/// log(Level::Warn, "mongodb took long to come back");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Fine detail.
    Debug,
    /// What the scenario is doing.
    Info,
    /// Something odd that is not yet a failure.
    Warn,
    /// Something that went wrong.
    Error,
}

impl From<Level> for runtime::Level {
    fn from(level: Level) -> Self {
        match level {
            Level::Debug => runtime::Level::Debug,
            Level::Info => runtime::Level::Info,
            Level::Warn => runtime::Level::Warn,
            Level::Error => runtime::Level::Error,
        }
    }
}

/// Writes a line to the scenario's log, which goes into the report's `<system-out>`.
/// The macros [`debug!`](crate::debug), [`info!`](crate::info), [`warn!`](crate::warn) and
/// [`error!`](crate::error) format and call it.
///
/// ```no_run
/// scenarios_sdk::log(scenarios_sdk::Level::Info, "scaling mongodb to 0");
/// ```
pub fn log(level: Level, message: impl AsRef<str>) {
    runtime::log(level.into(), message.as_ref());
}

/// Records a measured figure, such as `response_time_s` = `0.004`. It goes into the testcase's
/// JUnit properties. Record figures that were measured, never made up.
///
/// ```no_run
/// use scenarios_sdk::annotate;
///
/// annotate("configures_sent", 500);
/// ```
pub fn annotate(key: &str, value: impl Display) {
    runtime::annotate(key, &value.to_string());
}

/// Records a duration as seconds with three decimals, such as `response_time_s` = `0.004`.
/// End the key with `_s` so that readers know the unit.
///
/// ```no_run
/// use scenarios_sdk::{annotate_secs, configure};
///
/// let response = configure("t1", "{}").unwrap();
/// annotate_secs("response_time_s", response.elapsed());
/// ```
pub fn annotate_secs(key: &str, value: Duration) {
    annotate(key, format_args!("{:.3}", value.as_secs_f64()));
}

/// Logs a formatted line at [`Level::Debug`].
///
/// ```no_run
/// scenarios_sdk::debug!("probe took {} ms", 3);
/// ```
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log($crate::Level::Debug, ::std::format!($($arg)+)) };
}

/// Logs a formatted line at [`Level::Info`].
///
/// ```no_run
/// scenarios_sdk::info!("scaling {} to {}", "mongodb", 0);
/// ```
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log($crate::Level::Info, ::std::format!($($arg)+)) };
}

/// Logs a formatted line at [`Level::Warn`].
///
/// ```no_run
/// scenarios_sdk::warn!("recovery took {} s", 9);
/// ```
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log($crate::Level::Warn, ::std::format!($($arg)+)) };
}

/// Logs a formatted line at [`Level::Error`].
///
/// ```no_run
/// scenarios_sdk::error!("unexpected answer: {}", 502);
/// ```
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log($crate::Level::Error, ::std::format!($($arg)+)) };
}
