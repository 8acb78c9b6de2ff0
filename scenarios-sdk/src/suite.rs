//! Registration: the [`Scenario`] record that `#[scenario]` writes, and
//! [`export_scenarios!`](crate::export_scenarios), which gives the runner a component's list
//! of scenarios and runs one by name.

use std::panic::PanicHookInfo;
use std::sync::Once;
use std::time::Duration;

use crate::bindings::exports::focus::scenario::suite as wit;
use crate::outcome::to_wit;
use crate::time::duration_to_nanos;
use crate::{Failure, Outcome, Stop};

/// One registered scenario. `#[scenario]` writes it; you need not build one by hand.
///
/// ```
/// use scenarios_sdk::{Outcome, Scenario};
///
/// fn noop() -> Outcome {
///     Ok(())
/// }
///
/// static NOOP: Scenario = Scenario {
///     name: "noop",
///     description: "Does nothing.",
///     tags: &["smoke"],
///     key: None,
///     timeout: Some(scenarios_sdk::Duration::from_secs(5)),
///     run: noop,
/// };
/// assert_eq!(NOOP.name, "noop");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Its name, unique in the component: the function's name.
    pub name: &'static str,
    /// One or two sentences on what it checks: the `description` argument, or the first
    /// paragraph of the function's doc comment.
    pub description: &'static str,
    /// Tags for selection, such as `p0` or `mongodb`.
    pub tags: &'static [&'static str],
    /// The ticket or test key, such as `PZ-13640`, written to JUnit as `test_key`.
    pub key: Option<&'static str>,
    /// How long it may run; the runner's default when `None`.
    pub timeout: Option<Duration>,
    /// The function to run.
    pub run: fn() -> Outcome,
}

/// The contract's descriptions of `scenarios`.
#[doc(hidden)]
pub fn metas(scenarios: &[&Scenario]) -> Vec<wit::Meta> {
    scenarios
        .iter()
        .map(|s| wit::Meta {
            name: s.name.to_string(),
            description: s.description.to_string(),
            tags: s.tags.iter().map(|t| t.to_string()).collect(),
            key: s.key.map(str::to_string),
            timeout: s.timeout.map(duration_to_nanos),
        })
        .collect()
}

/// Runs the scenario called `name`. An unknown or ambiguous name is a failed outcome that says
/// what the component holds, never a trap.
#[doc(hidden)]
pub fn run(scenarios: &[&Scenario], name: &str) -> wit::Outcome {
    install_panic_hook();
    let found: Vec<&&Scenario> = scenarios.iter().filter(|s| s.name == name).collect();
    let outcome = match found.as_slice() {
        [scenario] => (scenario.run)(),
        [] => Err(Stop::Failed(
            Failure::new(format!("this component has no scenario named `{name}`")).with_detail(
                format!(
                    "It holds: {}. Is the function listed in export_scenarios!?",
                    scenarios
                        .iter()
                        .map(|s| s.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        )),
        several => Err(Stop::Failed(Failure::new(format!(
            "{} scenarios of this component are named `{name}`; rename all but one",
            several.len()
        )))),
    };
    to_wit(outcome)
}

/// Installs, once, a panic hook that sends the panic's message and location to the host
/// (`runtime.report-panic`), so the report shows it as the scenario's error.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // Off wasm the imports are stubs that panic, which would abort inside the hook.
        if cfg!(target_arch = "wasm32") {
            std::panic::set_hook(Box::new(|info| {
                crate::bindings::focus::scenario::runtime::report_panic(&panic_message(info));
            }));
        }
    });
}

/// `panicked at src/lib.rs:45:21: the message`, as the standard hook writes it.
fn panic_message(info: &PanicHookInfo<'_>) -> String {
    let payload = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    let location = info.location().map(|l| (l.file(), l.line(), l.column()));
    format_panic(location, &payload)
}

fn format_panic(location: Option<(&str, u32, u32)>, payload: &str) -> String {
    match location {
        Some((file, line, column)) => format!("panicked at {file}:{line}:{column}: {payload}"),
        None => format!("panicked: {payload}"),
    }
}

/// Exports the listed `#[scenario]` functions as this component's suite: the runner's
/// `scenarios()` lists them in this order and `run(name)` runs one. Invoke it once, at the
/// crate root of a `cdylib` built for `wasm32-wasip2`. A path may name a function in a
/// module (`outages::mongodb_down`), which must then be visible at the crate root.
///
/// ```no_run
/// use scenarios_sdk::prelude::*;
///
/// #[scenario(tags = ["smoke"], timeout = "10s")]
/// fn health_answers() -> Outcome {
///     expect_status(&get("/health")?, 200)?;
///     Ok(())
/// }
///
/// scenarios_sdk::export_scenarios!(health_answers);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_scenarios {
    ($($($segment:ident)::+),+ $(,)?) => {
        /// The scenarios `export_scenarios!` registered, in order. Public so that they count as
        /// used off wasm too, where nothing is exported.
        #[doc(hidden)]
        pub static __SCENARIOS_SDK_SUITE: &[&$crate::Scenario] = &[$(&$($segment)::+::SCENARIO),+];

        const _: () = {
            use __SCENARIOS_SDK_SUITE as SCENARIOS;

            #[allow(dead_code)]
            struct ScenarioSuite;

            impl $crate::bindings::exports::focus::scenario::suite::Guest for ScenarioSuite {
                fn scenarios() -> ::std::vec::Vec<$crate::bindings::exports::focus::scenario::suite::Meta> {
                    $crate::__private::metas(SCENARIOS)
                }

                fn run(name: ::std::string::String) -> $crate::bindings::exports::focus::scenario::suite::Outcome {
                    $crate::__private::run(SCENARIOS, &name)
                }
            }

            // Off wasm, the exports' names (`focus:scenario/suite@0.1.0#run`) do not link
            // into a native cdylib, and nothing could call them: the suite is only checked.
            #[cfg(target_arch = "wasm32")]
            $crate::bindings::__export_scenario_world!(ScenarioSuite with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes() -> Outcome {
        Ok(())
    }

    static PASSES: Scenario = Scenario {
        name: "passes",
        description: "",
        tags: &["smoke"],
        key: Some("PZ-1"),
        timeout: Some(Duration::from_secs(2)),
        run: passes,
    };

    #[test]
    fn metas_carry_every_field() {
        let metas = metas(&[&PASSES]);
        assert_eq!(metas[0].name, "passes");
        assert_eq!(metas[0].tags, vec!["smoke".to_string()]);
        assert_eq!(metas[0].key.as_deref(), Some("PZ-1"));
        assert_eq!(metas[0].timeout, Some(2_000_000_000));
    }

    #[test]
    fn an_unknown_name_fails_and_lists_what_there_is() {
        match run(&[&PASSES], "nope") {
            wit::Outcome::Failed(failure) => {
                assert_eq!(
                    failure.message,
                    "this component has no scenario named `nope`"
                );
                assert!(failure.detail.unwrap().contains("It holds: passes."));
            }
            other => panic!("expected failed, got {other:?}"),
        }
        assert!(matches!(run(&[&PASSES], "passes"), wit::Outcome::Passed));
        assert!(matches!(
            run(&[&PASSES, &PASSES], "passes"),
            wit::Outcome::Failed(_)
        ));
    }

    #[test]
    fn panic_messages_read_like_the_standard_hook() {
        assert_eq!(
            format_panic(Some(("src/lib.rs", 45, 21)), "boom"),
            "panicked at src/lib.rs:45:21: boom"
        );
    }
}
