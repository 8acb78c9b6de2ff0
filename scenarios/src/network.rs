//! A slow or narrow network to MongoDB, through the environment's fault pipeline (Toxiproxy's
//! model): the Focus Server must still answer within its SLA, never hang.

use scenarios_sdk::payloads::historic;
use scenarios_sdk::prelude::*;

use crate::checks::{DATABASE_UNAVAILABLE, sla};
use crate::database::MONGODB;

/// With 3 s (± 200 ms) of latency on every answer from MongoDB, a historic POST /configure
/// answers within the SLA, either 200 or a 503 saying the database is unavailable: a call
/// that overruns its deadline is an infrastructure failure for the server's gate, not a hang.
#[scenario(tags = ["p1", "mongodb", "network", "fault"], timeout = "60s")]
pub fn slow_mongodb_does_not_break_sla() -> Outcome {
    require(&[Capability::FaultLatency])?;
    let slow = workload(MONGODB).add_fault(Fault::latency(ms(3000)).jitter(ms(200)))?;
    info!("in place: {}", slow.description());
    for attempt in 1..=2 {
        let response = configure(&unique_task_id("slow-mongodb"), historic())?;
        annotate_secs(&format!("response_time_s.{attempt}"), response.elapsed());
        expect_answered_within_sla(&response)?;
    }
    Ok(())
}

/// With MongoDB's answers held to 10 KB/s, a historic POST /configure still answers within
/// the SLA, either 200 or a 503 saying the database is unavailable.
#[scenario(tags = ["p2", "mongodb", "network", "fault"], timeout = "60s")]
pub fn bandwidth_limited_mongodb() -> Outcome {
    require(&[Capability::FaultBandwidth])?;
    let narrow = workload(MONGODB).add_fault(Fault::bandwidth(10_000))?;
    info!("in place: {}", narrow.description());
    let response = configure(&unique_task_id("narrow-mongodb"), historic())?;
    annotate_secs("response_time_s", response.elapsed());
    expect_answered_within_sla(&response)
}

/// 200, or 503 with the database message, within the SLA.
fn expect_answered_within_sla(response: &HttpResponse) -> Outcome {
    info!(
        "{} answered {} after {}",
        response.request(),
        response.status(),
        Seconds(response.elapsed())
    );
    expect_within(response, sla()?)?;
    match response.status() {
        200 => Ok(()),
        503 => Ok(expect_body_contains(response, DATABASE_UNAVAILABLE)?),
        other => fail!(
            "{} answered {other}, neither 200 nor a database 503: {}",
            response.request(),
            response.text()
        ),
    }
}
