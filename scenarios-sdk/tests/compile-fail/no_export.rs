// A crate with a scenario but without `scenarios_sdk::export_scenarios!();` at its root would
// build a component that exports no suite: it must not compile.
use scenarios_sdk::prelude::*;

mod outages {
    use scenarios_sdk::prelude::*;

    #[scenario(timeout = "10s")]
    pub fn mongodb_down() -> Outcome {
        Ok(())
    }
}

#[scenario(timeout = "10s")]
fn ack_answers() -> Outcome {
    Ok(())
}

fn main() {}
