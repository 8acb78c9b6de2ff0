// A steady state without `scenarios_sdk::export_scenarios!();` would never be checked.
use scenarios_sdk::prelude::*;

#[steady_state]
fn everything_up() -> Outcome {
    Ok(())
}

fn main() {}
