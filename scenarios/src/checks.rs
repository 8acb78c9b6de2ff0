//! The checks the tickets repeat: a fast, clear 503 within the SLA, and nothing orchestrated.

use scenarios_sdk::prelude::*;

/// The parameter that sets the Focus Server's SLA for an answer during an outage, in seconds.
pub const SLA_PARAM: &str = "sla_s";

/// The SLA when the run does not set [`SLA_PARAM`]: 5 s (PZ-13640).
pub const DEFAULT_SLA_S: f64 = 5.0;

/// The parameter that sets the p99 limit of each second of `outage_under_load_p99`, in seconds.
pub const P99_PARAM: &str = "p99_limit_s";

/// The p99 limit when the run does not set [`P99_PARAM`]: 50 ms.
pub const DEFAULT_P99_S: f64 = 0.05;

/// What the body of a database 503 says.
pub const DATABASE_UNAVAILABLE: &str = "database unavailable";

/// The SLA of this run: `--param sla_s=…`, 5 s unless set.
pub fn sla() -> Result<Duration, Stop> {
    param_secs(SLA_PARAM, DEFAULT_SLA_S)
}

/// The p99 limit of this run: `--param p99_limit_s=…`, 50 ms unless set.
pub fn p99_limit() -> Result<Duration, Stop> {
    param_secs(P99_PARAM, DEFAULT_P99_S)
}

/// Expects the ticket's answer to a configure during an outage: 503 within the SLA, a body
/// that says the database is unavailable, and a `Retry-After`. Annotates the response time
/// under `key` (such as `response_time_s`).
pub fn expect_fast_database_503(response: &HttpResponse, key: &str) -> Outcome {
    annotate_secs(key, response.elapsed());
    info!(
        "{} answered {} after {}",
        response.request(),
        response.status(),
        Seconds(response.elapsed())
    );
    expect_within(response, sla()?)?;
    expect_status(response, 503)?;
    expect_body_contains(response, DATABASE_UNAVAILABLE)?;
    ensure!(
        response.retry_after().is_some(),
        "{} answered 503 without a Retry-After header",
        response.request()
    );
    Ok(())
}

/// Expects that no job was orchestrated for `task`.
pub fn expect_no_job(task: &str) -> Outcome {
    let found = jobs(task)?;
    if !found.is_empty() {
        let listed: Vec<String> = found
            .iter()
            .map(|j| format!("{} ({}, created {})", j.id(), j.state(), j.created_at()))
            .collect();
        return Err(Failure::new(format!(
            "expected no job orchestrated for task {task}, found {}",
            found.len()
        ))
        .with_detail(listed.join("\n"))
        .into());
    }
    Ok(())
}

/// Sends historic configures for `task` every `every` until one answers 200, within
/// `timeout`. Every other answer must be a 503 that came within the SLA. Returns the 200 and
/// the number of 503s seen before it. The job of the 200 is stopped at rollback.
pub fn configure_until_success(
    task: &str,
    payload: &Value,
    timeout: Duration,
    every: Duration,
) -> Result<(HttpResponse, u32), Stop> {
    let sla = sla()?;
    let deadline = Deadline::after(timeout);
    let mut unavailable = 0u32;
    loop {
        let sent = now();
        let response = configure(task, payload)?;
        expect_status_in(&response, &[200, 503])?;
        expect_within(&response, sla)?;
        if response.status() == 200 {
            return Ok((response, unavailable));
        }
        unavailable += 1;
        if deadline.passed() {
            fail!(
                "no configure succeeded within {}: {unavailable} answers, all 503, the last: {}",
                Seconds(deadline.timeout()),
                response.error_message().unwrap_or_default()
            );
        }
        sleep(
            every
                .saturating_sub(sent.elapsed())
                .min(deadline.remaining()),
        );
    }
}

/// The `job_id` of a 200 configure.
pub fn job_id_of(response: &HttpResponse) -> Result<String, Stop> {
    match response
        .json::<Value>()?
        .get("job_id")
        .and_then(|v| v.as_str())
    {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => Err(Failure::new(format!(
            "{} answered {} without a job_id",
            response.request(),
            response.status()
        ))
        .with_detail(format!("response body: {}", response.text()))
        .into()),
    }
}
