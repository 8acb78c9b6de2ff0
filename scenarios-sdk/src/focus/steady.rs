//! The common steady-state hypothesis of a Focus Server environment, in one call.

use serde_json::Value;

use super::get;
use crate::{Failure, Outcome, Stop, expect_status, probe};

/// The MongoDB service whose ping the hypothesis checks.
const MONGODB: &str = "mongodb";

/// Checks once that **the Focus Server reports its database up and recordings seeded, and
/// MongoDB answers a ping**: `GET /health` answers 200 with `database.state == "up"` and
/// `database.recordings_seeded == true`, and a driver ping of the `mongodb` service answers.
///
/// Made to be a component's [`#[steady_state]`](crate::steady_state): the runner polls it
/// before each scenario and after its rollback, so it checks once and never waits. A Focus
/// Server that refuses connections or does not answer is a failed check ("does not hold
/// yet"), not an error.
///
/// ```no_run
/// use scenarios_sdk::prelude::*;
///
/// /// The Focus Server sees MongoDB and has its recordings.
/// #[steady_state]
/// fn focus_server_sees_database() -> Outcome {
///     focus_server_steady_state()
/// }
/// # scenarios_sdk::export_scenarios!();
/// # fn main() {}
/// ```
pub fn focus_server_steady_state() -> Outcome {
    let health = get("/health").map_err(|error| match error {
        error if error.is_transport() => Stop::Failed(Failure::new(format!(
            "the Focus Server does not answer GET /health: {error}"
        ))),
        other => Stop::from(other),
    })?;
    expect_status(&health, 200)?;
    let body: Value = health.json()?;
    check_health(&body)?;
    let mongodb = probe(MONGODB)?;
    if !mongodb.reachable() {
        return Err(Failure::new(format!(
            "mongodb does not answer a ping: {}",
            mongodb.detail()
        ))
        .into());
    }
    Ok(())
}

/// The `/health` part of the hypothesis.
fn check_health(body: &Value) -> Result<(), Failure> {
    let state = body.pointer("/database/state").and_then(Value::as_str);
    if state != Some("up") {
        let reason = body
            .pointer("/database/reason")
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        return Err(Failure::new(format!(
            "the Focus Server reports its database {} ({reason}), not up",
            state.map_or("state missing".to_string(), |s| format!("{s:?}"))
        ))
        .with_detail(format!("GET /health: {body}")));
    }
    if body.pointer("/database/recordings_seeded") != Some(&Value::Bool(true)) {
        return Err(Failure::new(
            "the Focus Server has not seeded its recordings yet (database.recordings_seeded is \
             not true; is it started with --seed-recordings?)",
        )
        .with_detail(format!("GET /health: {body}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_health_part_needs_up_and_seeded() {
        let up = json!({"database": {"state": "up", "recordings_seeded": true}});
        assert!(check_health(&up).is_ok());
        let down =
            json!({"database": {"state": "down", "reason": "refused", "recordings_seeded": true}});
        assert_eq!(
            check_health(&down).unwrap_err().message(),
            "the Focus Server reports its database \"down\" (refused), not up"
        );
        let unseeded = json!({"database": {"state": "up", "recordings_seeded": false}});
        assert!(
            check_health(&unseeded)
                .unwrap_err()
                .message()
                .contains("not seeded")
        );
    }
}
