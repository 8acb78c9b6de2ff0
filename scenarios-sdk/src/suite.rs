//! Registration: the [`Scenario`] and [`SteadyState`] records that `#[scenario]` and
//! `#[steady_state]` register where they stand, and
//! [`export_scenarios!`](crate::export_scenarios), which exports every registered one as the
//! component's suite. There is no second list to keep: a `#[scenario]` function is in the
//! component by being compiled into it.

use std::panic::PanicHookInfo;
use std::sync::Once;
use std::time::Duration;

use crate::bindings::exports::focus::scenario::suite as wit;
use crate::check::{take_soft_failures, with_soft_failures};
use crate::outcome::to_wit;
use crate::time::duration_to_nanos;
use crate::{Failure, Outcome, Stop};

/// One scenario. `#[scenario]` writes and registers it; you need not build one by hand.
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
///     module: "my_scenarios",
///     line: 3,
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
    /// The module it is written in (`module_path!()`); with `line`, the listing order.
    pub module: &'static str,
    /// The line it is written on.
    pub line: u32,
}

/// A steady-state hypothesis: `#[steady_state]` writes and registers it. A component has at
/// most one.
///
/// ```
/// use scenarios_sdk::{Outcome, SteadyState};
///
/// fn holds() -> Outcome {
///     Ok(())
/// }
///
/// static HOLDS: SteadyState = SteadyState { name: "holds", run: holds, module: "m", line: 1 };
/// assert_eq!(HOLDS.name, "holds");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SteadyState {
    /// The function's name.
    pub name: &'static str,
    /// The function to check it once.
    pub run: fn() -> Outcome,
    /// The module it is written in.
    pub module: &'static str,
    /// The line it is written on.
    pub line: u32,
}

inventory::collect!(Scenario);
inventory::collect!(SteadyState);

/// Every scenario compiled into this crate, in the order they are written: by module path,
/// then by line.
///
/// ```
/// assert!(scenarios_sdk::registered_scenarios().is_empty());
/// ```
pub fn registered_scenarios() -> Vec<&'static Scenario> {
    let mut all: Vec<&'static Scenario> = inventory::iter::<Scenario>.into_iter().collect();
    all.sort_by_key(|s| (s.module, s.line, s.name));
    all
}

/// Every `#[steady_state]` compiled into this crate (there should be at most one).
fn registered_steady_states() -> Vec<&'static SteadyState> {
    let mut all: Vec<&'static SteadyState> = inventory::iter::<SteadyState>.into_iter().collect();
    all.sort_by_key(|s| (s.module, s.line, s.name));
    all
}

/// The contract's descriptions of the registered scenarios.
#[doc(hidden)]
pub fn metas() -> Vec<wit::Meta> {
    metas_of(&registered_scenarios())
}

fn metas_of(scenarios: &[&Scenario]) -> Vec<wit::Meta> {
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

/// Runs the registered scenario called `name`.
#[doc(hidden)]
pub fn run(name: &str) -> wit::Outcome {
    run_in(&registered_scenarios(), name)
}

/// Runs the scenario called `name` of `scenarios`. An unknown or ambiguous name is a failed
/// outcome that says what the component holds, never a trap.
fn run_in(scenarios: &[&Scenario], name: &str) -> wit::Outcome {
    install_panic_hook();
    let found: Vec<&&Scenario> = scenarios.iter().filter(|s| s.name == name).collect();
    let outcome = match found.as_slice() {
        [scenario] => (scenario.run)(),
        [] => Err(Stop::Failed(
            Failure::new(format!("this component has no scenario named `{name}`")).with_detail(
                format!(
                    "It holds: {}.",
                    scenarios
                        .iter()
                        .map(|s| s.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        )),
        several => Err(Stop::Failed(Failure::new(format!(
            "{} scenarios of this component are named `{name}` (in {}); rename all but one",
            several.len(),
            several
                .iter()
                .map(|s| s.module)
                .collect::<Vec<_>>()
                .join(", ")
        )))),
    };
    to_wit(with_soft_failures(outcome, take_soft_failures()))
}

/// Checks the registered steady-state hypothesis once; `None` when there is none.
#[doc(hidden)]
pub fn steady_state() -> Option<wit::Outcome> {
    steady_state_of(&registered_steady_states())
}

fn steady_state_of(hypotheses: &[&SteadyState]) -> Option<wit::Outcome> {
    install_panic_hook();
    let outcome = match hypotheses {
        [] => return None,
        [one] => (one.run)(),
        several => Err(Stop::Failed(Failure::new(format!(
            "this component declares {} steady states ({}); keep one #[steady_state] and call \
             the others from it",
            several.len(),
            several
                .iter()
                .map(|s| format!("{}::{}", s.module, s.name))
                .collect::<Vec<_>>()
                .join(", ")
        )))),
    };
    Some(to_wit(with_soft_failures(outcome, take_soft_failures())))
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

/// Exports every `#[scenario]` and the `#[steady_state]` of this crate as the component's
/// suite. Write it once, at the crate root of a `cdylib` built for `wasm32-wasip2`, with no
/// list: scenarios register themselves where they are written, so none can be left out. A
/// crate with a `#[scenario]` but without this line does not compile (the error names
/// `__scenarios_sdk_export_scenarios_is_missing_at_the_crate_root`).
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
/// scenarios_sdk::export_scenarios!();
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_scenarios {
    () => {
        /// Proof, for `#[scenario]`, that the suite is exported at the crate root.
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        pub const __scenarios_sdk_export_scenarios_is_missing_at_the_crate_root: () = ();

        const _: () = {
            #[allow(dead_code)]
            struct ScenarioSuite;

            impl $crate::bindings::exports::focus::scenario::suite::Guest for ScenarioSuite {
                fn scenarios() -> ::std::vec::Vec<$crate::bindings::exports::focus::scenario::suite::Meta> {
                    $crate::__private::metas()
                }

                fn run(name: ::std::string::String) -> $crate::bindings::exports::focus::scenario::suite::Outcome {
                    $crate::__private::run(&name)
                }

                fn steady_state() -> ::core::option::Option<$crate::bindings::exports::focus::scenario::suite::Outcome> {
                    $crate::__private::steady_state()
                }
            }

            // Off wasm, the exports' names (`focus:scenario/suite@0.2.0#run`) do not link
            // into a native cdylib, and nothing could call them: the suite is only checked.
            #[cfg(target_arch = "wasm32")]
            $crate::bindings::__export_scenario_world!(ScenarioSuite with_types_in $crate::bindings);
        };
    };
    ($($listed:tt)+) => {
        ::core::compile_error!(
            "scenarios register themselves with #[scenario]: write `scenarios_sdk::export_scenarios!();` with no list"
        );
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes() -> Outcome {
        Ok(())
    }

    fn fails() -> Outcome {
        Err(Failure::new("no").into())
    }

    const fn scenario(name: &'static str, line: u32, run: fn() -> Outcome) -> Scenario {
        Scenario {
            name,
            description: "",
            tags: &["smoke"],
            key: Some("PZ-1"),
            timeout: Some(Duration::from_secs(2)),
            run,
            module: "m",
            line,
        }
    }

    static PASSES: Scenario = scenario("passes", 1, passes);

    #[test]
    fn metas_carry_every_field() {
        let metas = metas_of(&[&PASSES]);
        assert_eq!(metas[0].name, "passes");
        assert_eq!(metas[0].tags, vec!["smoke".to_string()]);
        assert_eq!(metas[0].key.as_deref(), Some("PZ-1"));
        assert_eq!(metas[0].timeout, Some(2_000_000_000));
    }

    #[test]
    fn an_unknown_name_fails_and_lists_what_there_is() {
        match run_in(&[&PASSES], "nope") {
            wit::Outcome::Failed(failure) => {
                assert_eq!(
                    failure.message,
                    "this component has no scenario named `nope`"
                );
                assert!(failure.detail.unwrap().contains("It holds: passes."));
            }
            other => panic!("expected failed, got {other:?}"),
        }
        assert!(matches!(run_in(&[&PASSES], "passes"), wit::Outcome::Passed));
        assert!(matches!(
            run_in(&[&PASSES, &PASSES], "passes"),
            wit::Outcome::Failed(_)
        ));
    }

    #[test]
    fn steady_states_none_one_or_too_many() {
        static HOLDS: SteadyState = SteadyState {
            name: "holds",
            run: passes,
            module: "m",
            line: 1,
        };
        static BROKEN: SteadyState = SteadyState {
            name: "broken",
            run: fails,
            module: "m",
            line: 2,
        };
        assert!(steady_state_of(&[]).is_none());
        assert!(matches!(
            steady_state_of(&[&HOLDS]),
            Some(wit::Outcome::Passed)
        ));
        assert!(matches!(
            steady_state_of(&[&BROKEN]),
            Some(wit::Outcome::Failed(_))
        ));
        match steady_state_of(&[&HOLDS, &BROKEN]) {
            Some(wit::Outcome::Failed(f)) => {
                assert!(f.message.contains("2 steady states"), "{}", f.message)
            }
            other => panic!("expected failed, got {other:?}"),
        }
    }

    #[test]
    fn panic_messages_read_like_the_standard_hook() {
        assert_eq!(
            format_panic(Some(("src/lib.rs", 45, 21)), "boom"),
            "panicked at src/lib.rs:45:21: boom"
        );
    }
}
