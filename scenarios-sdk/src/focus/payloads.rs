//! Request bodies the tickets use: a historic configure over the seeded window, a live one,
//! the P0 ticket's legacy body, and [`with`] to change one field.
//!
//! Historic requests use the window the Focus Server always seeds with `--seed-recordings`:
//! 2025-01-01 00:00–00:10 UTC, the P0 ticket's. (It also seeds the last 7 days; build such a
//! window from [`wall_clock`](crate::wall_clock) when a scenario needs recent data.)
//!
//! ```
//! use scenarios_sdk::json;
//! use scenarios_sdk::payloads::{historic, with};
//!
//! let bad = with(historic(), "/channels", json!({"min": 50, "max": 1}));
//! assert_eq!(bad["channels"]["min"], 50);
//! ```

use serde_json::{Value, json};

/// 2025-01-01 00:00:00 UTC, epoch seconds: the start of the ticket's seeded window.
pub const TICKET_WINDOW_START: u64 = 1_735_689_600;
/// 2025-01-01 00:10:00 UTC, epoch seconds: the end of the ticket's seeded window.
pub const TICKET_WINDOW_END: u64 = 1_735_690_200;

/// The P0 ticket's exact legacy request body, as its curl sent it to `POST /config/test_task`.
pub const LEGACY_TICKET_BODY: &str = r#"{"displayTimeAxisDuration": 10, "nfftSelection": 1024, "canvasInfo": {"height": 1000}, "sensors": {"min": 1, "max": 3}, "frequencyRange": {"min": 0, "max": 500}, "start_time": "250101000000", "end_time": "250101001000"}"#;

/// The P0 ticket's task id.
pub const LEGACY_TICKET_TASK: &str = "test_task";

/// A valid multichannel configure over the seeded ticket window: it needs MongoDB for the
/// recordings lookup and the job record.
///
/// ```
/// let body = scenarios_sdk::payloads::historic();
/// assert_eq!(body["start_time"], 1_735_689_600);
/// ```
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
///
/// ```
/// assert!(scenarios_sdk::payloads::live()["start_time"].is_null());
/// ```
pub fn live() -> Value {
    let mut body = historic();
    body["start_time"] = Value::Null;
    body["end_time"] = Value::Null;
    body
}

/// The body of `POST /recordings_in_time_range` for the seeded ticket window.
///
/// ```
/// assert_eq!(scenarios_sdk::payloads::ticket_window()["end_time"], 1_735_690_200);
/// ```
pub fn ticket_window() -> Value {
    json!({"start_time": TICKET_WINDOW_START, "end_time": TICKET_WINDOW_END})
}

/// `body` with the value at `pointer` (such as `/channels/min`) replaced; unchanged when
/// nothing is at `pointer`.
///
/// ```
/// use scenarios_sdk::json;
/// use scenarios_sdk::payloads::{historic, with};
///
/// assert_eq!(with(historic(), "/nfftSelection", json!(1000))["nfftSelection"], 1000);
/// ```
pub fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    if let Some(slot) = body.pointer_mut(pointer) {
        *slot = value;
    }
    body
}
