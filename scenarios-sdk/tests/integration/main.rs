//! The SDK's one integration test binary. Here, at its root: scenarios register themselves
//! where they are written (one listed nowhere else, in a nested module, is in the suite, in the
//! order of the source). In `compile_fail`: registration mistakes do not compile.

mod compile_fail;

use scenarios_sdk::prelude::*;

mod outages {
    use scenarios_sdk::prelude::*;

    /// MongoDB goes away.
    #[scenario(tags = ["p0"], timeout = "10s")]
    pub fn mongodb_down() -> Outcome {
        Ok(())
    }

    pub mod deeper {
        use scenarios_sdk::prelude::*;

        /// Listed in no list at all.
        #[scenario(timeout = "1m")]
        fn forgotten_nowhere() -> Outcome {
            Ok(())
        }
    }
}

/// The first, by line, of the crate root.
#[scenario(key = "PZ-1", timeout = "5s")]
fn ack_answers() -> Outcome {
    Ok(())
}

/// Everything is up.
#[steady_state]
fn everything_up() -> Outcome {
    Ok(())
}

scenarios_sdk::export_scenarios!();

#[test]
fn every_scenario_is_registered_without_a_list() {
    let names: Vec<&str> = scenarios_sdk::registered_scenarios()
        .iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["ack_answers", "mongodb_down", "forgotten_nowhere"]);
    let down = scenarios_sdk::registered_scenarios()[1];
    assert_eq!(down.tags, ["p0"]);
    assert_eq!(down.description, "MongoDB goes away.");
    assert_eq!(down.module, "integration::outages");
}

#[test]
fn the_steady_state_is_registered_and_checked() {
    assert!(matches!(
        scenarios_sdk::__private::steady_state(),
        Some(scenarios_sdk::bindings::exports::focus::scenario::suite::Outcome::Passed)
    ));
}
