//! A scenario component to copy: Ticket #1's verification test (PZ-13640).
//!
//! Build it with `cargo build --target wasm32-wasip2`, or let `scenario-runner run .` build it.
//! MongoDB is restored by the runner after the scenario, whatever its outcome.

use scenarios_sdk::prelude::*;

/// With MongoDB scaled to 0, a historic POST /configure answers 503 within the 5 s SLA.
#[scenario(tags = ["p0", "sla"], key = "PZ-13640", timeout = "60s")]
fn focus_server_fast_failover() -> Outcome {
    workload("mongodb").scale(0)?;
    sleep(Duration::from_secs(5));
    let task = format!("failover-{}", now().as_nanos());
    let response = configure(
        &task,
        json!({
            "displayInfo": {"height": 1000}, "channels": {"min": 1, "max": 50}, "view_type": "0",
            "nfftSelection": 1024, "frequencyRange": {"min": 0, "max": 500},
            "start_time": 1735689600, "end_time": 1735690200, // 2025-01-01 00:00-00:10 UTC
        }),
    )?;
    annotate_secs("response_time_s", response.elapsed());
    expect_within(&response, Duration::from_secs(5))?;
    expect_status(&response, 503)?;
    Ok(())
}

scenarios_sdk::export_scenarios!(focus_server_fast_failover);
