//! Request bodies and task ids for `POST /configure` and `POST /config/{task_id}`.
//!
//! A guest has no wall clock, so historic requests use the window that the Focus Server
//! always seeds with `--seed-recordings`: 2025-01-01 00:00–00:10 UTC, the P0 ticket's.

use scenarios_sdk::serde_json::Value;
use scenarios_sdk::{json, now};

/// 2025-01-01 00:00:00 UTC, epoch seconds: the start of the ticket's seeded window.
pub const TICKET_WINDOW_START: u64 = 1_735_689_600;
/// 2025-01-01 00:10:00 UTC, epoch seconds: the end of the ticket's seeded window.
pub const TICKET_WINDOW_END: u64 = 1_735_690_200;

/// The P0 ticket's exact legacy request body, as its curl sent it to `POST /config/test_task`.
pub const LEGACY_TICKET_BODY: &str = r#"{"displayTimeAxisDuration": 10, "nfftSelection": 1024, "canvasInfo": {"height": 1000}, "sensors": {"min": 1, "max": 3}, "frequencyRange": {"min": 0, "max": 500}, "start_time": "250101000000", "end_time": "250101001000"}"#;

/// The P0 ticket's task id.
pub const LEGACY_TICKET_TASK: &str = "test_task";

/// A valid multichannel configure over the seeded window: it needs MongoDB for the
/// recordings lookup and the job record.
pub fn historic() -> Value {
    json!({
        "displayInfo": {"height": 1000},
        "channels": {"min": 1, "max": 50},
        "view_type": "0",
        "nfftSelection": 1024,
        "displayTimeAxisDuration": 10,
        "frequencyRange": {"min": 0, "max": 500},
        "start_time": TICKET_WINDOW_START,
        "end_time": TICKET_WINDOW_END,
    })
}

/// A valid live multichannel configure (no time window): it does not need MongoDB.
pub fn live() -> Value {
    let mut body = historic();
    body["start_time"] = Value::Null;
    body["end_time"] = Value::Null;
    body
}

/// `body` with the value at `pointer` (such as `/channels/min`) replaced.
pub fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    if let Some(slot) = body.pointer_mut(pointer) {
        *slot = value;
    }
    body
}

/// A task id unique to this run of `scenario`, so that `jobs(task)` sees only its own jobs.
pub fn task_id(scenario: &str) -> String {
    format!("{scenario}-{:x}", now().as_nanos())
}
