//! MongoDB as the scenarios see it: through the environment (scale, probe) and through the
//! Focus Server's own view of it (`GET /health`).

use scenarios_sdk::prelude::*;

/// The MongoDB workload and service of every environment.
pub const MONGODB: &str = "mongodb";

/// How often to look again while waiting for a state.
pub const POLL: Duration = Duration::from_millis(100);

/// Scales MongoDB to 0 and waits until a driver ping says it is unreachable. Skips where the
/// environment cannot scale. Returns how long the probe took to say so.
pub fn scale_to_zero() -> Result<Duration, Stop> {
    require(&[Capability::Scale])?;
    let mongodb = workload(MONGODB);
    mongodb.scale(0)?;
    info!("scaled {MONGODB} to 0");
    wait_unreachable()
}

/// Waits until the MongoDB probe says unreachable, and logs what it saw.
pub fn wait_unreachable() -> Result<Duration, Stop> {
    let mut last = String::new();
    let took = wait_until(
        "the mongodb probe to say unreachable",
        Duration::from_secs(20),
        POLL,
        || {
            let found = probe(MONGODB)?;
            last = found.detail().to_string();
            Ok(!found.reachable())
        },
    )?;
    info!("mongodb unreachable after {}: {last}", Seconds(took));
    Ok(took)
}

/// Waits, at most `timeout`, until the Focus Server's `/health` reports its database down, so
/// that the configure that follows measures the outage as the server lives it, not the
/// instant before its driver noticed (a request on a pooled connection to a dead server fails
/// at once whatever the configuration). Goes on either way: returns how long the server took
/// to notice, or `None` (with a warning) when it did not report it in time or reports no state.
pub fn wait_focus_server_sees_outage(timeout: Duration) -> Result<Option<Duration>, Stop> {
    let deadline = Deadline::after(timeout);
    loop {
        let health = get("/health")?;
        expect_status(&health, 200)?;
        let body: Value = health.json()?;
        match body.pointer("/database/state").and_then(|v| v.as_str()) {
            None => return Ok(None),
            Some("down") => {
                let took = deadline.elapsed();
                info!(
                    "the Focus Server reports its database down after {}",
                    Seconds(took)
                );
                return Ok(Some(took));
            }
            Some(state) if deadline.passed() => {
                warn!(
                    "the Focus Server still reports its database {state:?} after {}; configuring anyway",
                    Seconds(deadline.elapsed())
                );
                return Ok(None);
            }
            Some(_) => sleep(POLL.min(deadline.remaining())),
        }
    }
}

/// The Focus Server's `/health` field `database.<field>` as an integer, if it reports one.
pub fn health_database_count(field: &str) -> Result<Option<u64>, Stop> {
    let health = get("/health")?;
    expect_status(&health, 200)?;
    Ok(health
        .json::<Value>()?
        .pointer(&format!("/database/{field}"))
        .and_then(|v| v.as_u64()))
}
