//! Validation comes before any database access: invalid requests get 400 even while MongoDB
//! is down.

use scenarios_sdk::payloads::{historic, with};
use scenarios_sdk::prelude::*;

use crate::checks::{expect_no_job, sla};
use crate::database;

/// While MongoDB is down, invalid historic configures (channel min above max, an nfft that is
/// not a power of two) still get 400 naming the field, not 503.
#[scenario(tags = ["p1", "validation"], timeout = "60s")]
pub fn invalid_roi_rejected_with_400_during_outage() -> Outcome {
    database::scale_to_zero()?;
    let cases: [(&str, Value, &str); 2] = [
        (
            "channel min above max",
            with(historic(), "/channels", json!({"min": 50, "max": 1})),
            "channels",
        ),
        (
            "nfft not a power of two",
            with(historic(), "/nfftSelection", json!(1000)),
            "nfftSelection",
        ),
    ];
    let task = unique_task_id("invalid-roi");
    for (what, payload, field) in cases {
        let response = configure(&task, &payload)?;
        info!(
            "{what}: {} answered {} after {}: {}",
            response.request(),
            response.status(),
            Seconds(response.elapsed()),
            response.text()
        );
        expect_status(&response, 400).map_err(|f| f.with_detail(format!("case: {what}")))?;
        expect_within(&response, sla()?)?;
        let error = response.error_message().unwrap_or_default();
        ensure!(
            error.contains(field),
            "{what}: the 400 does not name the field {field}: {error:?}"
        );
    }
    expect_no_job(&task)
}
