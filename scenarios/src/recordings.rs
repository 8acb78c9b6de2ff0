//! The recordings lookup during an outage: fail fast, then answer again.

use scenarios_sdk::payloads::{TICKET_WINDOW_END, TICKET_WINDOW_START, ticket_window};
use scenarios_sdk::prelude::*;

use crate::checks::DATABASE_UNAVAILABLE;
use crate::database::{self, MONGODB, POLL};

/// How fast the lookup must fail while MongoDB is down.
const FAIL_FAST: Duration = ms(2500);

/// With MongoDB scaled to 0, POST /recordings_in_time_range answers 503 within 2.5 s; after
/// MongoDB is restored it answers 200 with the seeded window.
#[scenario(tags = ["p1", "mongodb", "recordings"], timeout = "90s")]
pub fn recordings_lookup_fails_fast_when_mongodb_down() -> Outcome {
    require(&[Capability::Scale])?;
    let mongodb = workload(MONGODB);
    let replicas = mongodb.replicas()?;
    database::scale_to_zero()?;
    database::wait_focus_server_sees_outage(secs(15))?;

    let down = lookup()?;
    annotate_secs("response_time_s", down.elapsed());
    expect_within(&down, FAIL_FAST)?;
    expect_status(&down, 503)?;
    expect_body_contains(&down, DATABASE_UNAVAILABLE)?;

    mongodb.scale(replicas.max(1))?;
    mongodb.wait_ready(secs(30))?;
    let ready = now();
    let up = wait_for(
        "the recordings lookup to answer 200",
        secs(15),
        POLL,
        || {
            let response = lookup()?;
            expect_status_in(&response, &[200, 503])?;
            Ok((response.status() == 200).then_some(response))
        },
    )?;
    annotate_secs("recovery_time_s", ready.elapsed());
    let spans: Vec<[f64; 2]> = up.json()?;
    let (start, end) = (TICKET_WINDOW_START as f64, TICKET_WINDOW_END as f64);
    ensure!(
        spans.iter().any(|[s, e]| *s <= start && *e >= end),
        "{} answered 200 without the seeded window [{start}, {end}]: {}",
        up.request(),
        up.text()
    );
    Ok(())
}

/// One `POST /recordings_in_time_range` over the seeded ticket window.
fn lookup() -> Result<HttpResponse, HostError> {
    Request::post(FOCUS_SERVER, "/recordings_in_time_range")
        .json(&ticket_window())
        .send()
}
