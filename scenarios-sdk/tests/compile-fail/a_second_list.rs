// Scenarios register themselves: the 0.1 SDK's list in export_scenarios! is refused, so no
// second list can drift from the functions.
use scenarios_sdk::prelude::*;

#[scenario(timeout = "10s")]
fn ack_answers() -> Outcome {
    Ok(())
}

scenarios_sdk::export_scenarios!(ack_answers);

fn main() {}
