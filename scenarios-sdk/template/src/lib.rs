//! A scenario crate to start from: Ticket #1's verification test (PZ-13640), a job stopped
//! with `DELETE /job/{id}`, and the recordings lookup, against the Focus Server.
//!
//! `scenario-runner list .` builds it for wasm32-wasip2 and lists its scenarios;
//! `scenario-runner run .` runs them and writes a JUnit report. The runner undoes every change
//! a scenario makes (MongoDB scaled back, jobs stopped), whatever its outcome.

use scenarios_sdk::prelude::*;

/// The steady state, checked by the runner before each scenario and after its rollback: the
/// Focus Server reports its database up and recordings seeded, and MongoDB answers a ping.
#[steady_state]
fn focus_server_sees_database() -> Outcome {
    focus_server_steady_state()
}

/// With MongoDB scaled to 0, a historic POST /configure answers 503 within the SLA, 5 s
/// unless the run sets `--param sla_s=…`.
#[scenario(tags = ["p0", "sla"], key = "PZ-13640", timeout = "60s")]
fn focus_server_fast_failover() -> Outcome {
    let sla = param_secs("sla_s", 5.0)?; // a parameter, with its default
    workload("mongodb").scale(0)?; // scaled back by the runner after the scenario
    sleep(secs(5));
    let response = configure(&unique_task_id("failover"), payloads::historic())?;
    annotate_secs("response_time_s", response.elapsed());
    expect_within(&response, sla)?;
    expect_status(&response, 503)?;
    Ok(())
}

/// A live job stops on DELETE /job/{id} and is then listed as stopped.
#[scenario(tags = ["smoke"], timeout = "30s")]
fn job_stop_releases_resources() -> Outcome {
    let task = unique_task_id("stop");
    // A job that starts is stopped at rollback by the SDK (DELETE /job/{id}), whatever happens.
    let started = configure(&task, payloads::live())?;
    expect_status(&started, 200)?;
    let job = started.json::<Value>()?["job_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let stopped = Request::delete(FOCUS_SERVER, format!("/job/{job}")).send()?; // any HTTP call
    expect_status(&stopped, 200)?;
    let listed = jobs(&task)?;
    ensure!(
        listed
            .iter()
            .any(|j| j.id() == job && j.state() == "stopped"),
        "job {job} is not listed as stopped: {listed:?}"
    );
    Ok(())
}

/// A live job keeps running while MongoDB is down (a rollback action of the scenario's own).
#[scenario(tags = ["mongodb"], timeout = "60s")]
fn live_job_runs_during_outage() -> Outcome {
    let task = unique_task_id("live");
    let started = ConfigureRequest::new(ConfigureRoute::Configure, payloads::live())
        .task_id(&task)
        .keep_job() // no automatic DELETE: we register our own rollback action below
        .send()?;
    expect_status(&started, 200)?;
    let job = started.json::<Value>()?["job_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Sent after the scenario, whatever its outcome, with the runner's own undo steps.
    Request::delete(FOCUS_SERVER, format!("/job/{job}")).on_rollback()?;

    workload("mongodb").scale(0)?;
    sleep(secs(2));
    let listed = jobs(&task)?;
    ensure!(
        listed
            .iter()
            .any(|j| j.id() == job && j.state() == "running"),
        "job {job} stopped running during the outage: {listed:?}"
    );
    Ok(())
}

/// POST /recordings_in_time_range over the seeded window answers 200 with recordings in it.
#[scenario(tags = ["smoke"], timeout = "30s")]
fn recordings_lookup_answers() -> Outcome {
    let found = Request::post(FOCUS_SERVER, "/recordings_in_time_range")
        .json(&payloads::ticket_window())
        .send()?;
    expect_status(&found, 200)?;
    let spans: Vec<[f64; 2]> = found.json()?;
    ensure!(
        !spans.is_empty(),
        "no recording in the seeded window: {}",
        found.text()
    );
    Ok(())
}

scenarios_sdk::export_scenarios!();
