//! Parameters: values a run passes to its scenarios, such as an SLA, read with [`param`],
//! [`param_or`] and [`param_secs`].
//!
//! Values come from `scenario-runner run --param name=value` (repeatable), then the
//! environment's `[environments.NAME.params]`, then the configuration's `[params]`, in that
//! order. The values a scenario read go into its JUnit properties. A value that does not parse
//! ends the scenario as an error of kind `invalid` that names the parameter and the value:
//! the run was set up wrongly, so no verdict is given.
//!
//! ```no_run
//! use scenarios_sdk::prelude::*;
//!
//! /// A configure answers within the SLA, `--param sla_s=2.5` to tighten it (default 5 s).
//! #[scenario(timeout = "30s")]
//! fn configure_within_sla() -> Outcome {
//!     let sla = param_secs("sla_s", 5.0)?;
//!     let response = configure(&unique_task_id("sla"), payloads::historic())?;
//!     expect_within(&response, sla)?;
//!     Ok(())
//! }
//! # scenarios_sdk::export_scenarios!();
//! # fn main() {}
//! ```

use std::str::FromStr;

use crate::bindings::focus::scenario::runtime;
use crate::{HostError, Stop};

/// The value of parameter `name` as given, or `None` when the run does not set it.
///
/// ```no_run
/// if let Some(region) = scenarios_sdk::param("region") {
///     scenarios_sdk::info!("region {region}");
/// }
/// ```
pub fn param(name: &str) -> Option<String> {
    runtime::param(name)
}

/// The value of parameter `name` parsed as `T` (a number, a `bool`, a `String`, …), or
/// `default` when the run does not set it. A value that does not parse is an error of kind
/// `invalid`.
///
/// ```no_run
/// use scenarios_sdk::{Outcome, param_or};
///
/// fn configures() -> Outcome {
///     let count: u32 = param_or("configures", 500)?;
///     Ok(())
/// }
/// ```
pub fn param_or<T: FromStr>(name: &str, default: T) -> Result<T, Stop> {
    match param(name) {
        None => Ok(default),
        Some(text) => parse_value(name, &text),
    }
}

/// The value of parameter `name` as a [`Duration`]: seconds (`5`, `2.5`, `0.000001`) or a
/// duration with its unit (`500ms`, `1m30s`), read by the project's one duration parser;
/// `default_secs` when the run does not set it. A negative, infinite, non-numeric or absurd
/// (over 7 days) value is an error of kind `invalid` that names the parameter.
///
/// ```no_run
/// use scenarios_sdk::{Outcome, param_secs};
///
/// fn sla() -> Outcome {
///     let limit = param_secs("sla_s", 5.0)?;
///     Ok(())
/// }
/// ```
pub fn param_secs(name: &str, default_secs: f64) -> Result<std::time::Duration, Stop> {
    let parsed = match param(name) {
        None => durations::from_secs_f64(name, default_secs, durations::Bounds::DELAY),
        Some(text) => durations::parse(name, &text, durations::Bounds::DELAY),
    };
    parsed.map_err(|e| invalid_duration(name, e))
}

fn parse_value<T: FromStr>(name: &str, text: &str) -> Result<T, Stop> {
    text.trim().parse().map_err(|_| {
        HostError::Invalid(format!(
            "parameter `{name}` = {text:?} is not a valid {}; set it with --param {name}=VALUE",
            type_name::<T>()
        ))
        .into()
    })
}

fn invalid_duration(name: &str, error: durations::DurationError) -> Stop {
    HostError::Invalid(format!(
        "parameter {error}; set it with --param {name}=2.5 (seconds) or --param {name}=500ms"
    ))
    .into()
}

/// `f64` for `core::primitive::f64`, for messages.
fn type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn values_parse_or_name_the_parameter() {
        assert_eq!(parse_value::<f64>("sla_s", " 2.5 ").unwrap(), 2.5);
        let stop = parse_value::<f64>("sla_s", "fast").unwrap_err();
        match stop {
            Stop::HostError(HostError::Invalid(why)) => {
                assert_eq!(
                    why,
                    "parameter `sla_s` = \"fast\" is not a valid f64; set it with --param sla_s=VALUE"
                );
            }
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn durations_take_seconds_or_units_and_refuse_the_absurd() {
        let read = |text: &str| durations::parse("sla_s", text, durations::Bounds::DELAY);
        assert_eq!(read("0.000001").unwrap(), Duration::from_micros(1));
        assert_eq!(read("500ms").unwrap(), Duration::from_millis(500));
        for bad in ["-1", "inf", "nan", "1e30", "fast"] {
            let stop = invalid_duration("sla_s", read(bad).unwrap_err());
            match stop {
                Stop::HostError(HostError::Invalid(why)) => {
                    assert!(why.starts_with("parameter sla_s"), "{bad}: {why}");
                    assert!(why.contains("--param sla_s="), "{bad}: {why}");
                }
                other => panic!("{bad}: expected invalid, got {other:?}"),
            }
        }
    }
}
