//! Stopping a job: `DELETE /job/{id}` releases it, as the Focus Server documents.

use scenarios_sdk::payloads::live;
use scenarios_sdk::prelude::*;

use crate::checks::job_id_of;

/// A live job stops on DELETE /job/{id}: the DELETE answers 200, /jobs lists the job as
/// stopped, and GET /metadata/{id} answers 404 "Invalid job_id", as the Focus Server documents
/// for a job that no longer runs.
#[scenario(tags = ["smoke", "jobs"], timeout = "30s")]
pub fn job_stop_releases_resources() -> Outcome {
    let task = unique_task_id("job-stop");
    // The SDK also registers DELETE /job/{id} for the rollback; after this scenario's own
    // DELETE it answers 404, which the rollback counts as done.
    let started = configure(&task, live())?;
    expect_status(&started, 200)?;
    let job = job_id_of(&started)?;
    let running = jobs(&task)?;
    ensure!(
        running
            .iter()
            .any(|j| j.id() == job && j.state() == "running"),
        "job {job} is not listed as running after its 200: {running:?}"
    );

    let stopped = Request::delete(FOCUS_SERVER, format!("/job/{}", encode(&job))).send()?;
    annotate_secs("stop_time_s", stopped.elapsed());
    expect_status(&stopped, 200)?;

    let listed = jobs(&task)?;
    check!(
        listed
            .iter()
            .any(|j| j.id() == job && j.state() == "stopped"),
        "job {job} is not listed as stopped after its DELETE: {listed:?}"
    );
    check!(
        !listed
            .iter()
            .any(|j| j.id() == job && j.state() == "running"),
        "job {job} is still listed as running after its DELETE: {listed:?}"
    );
    let metadata = get(&format!("/metadata/{}", encode(&job)))?;
    soft(expect_status(&metadata, 404));
    check!(
        metadata.error_message().as_deref() == Some("Invalid job_id"),
        "{} answered {} without the documented error \"Invalid job_id\": {}",
        metadata.request(),
        metadata.status(),
        metadata.text()
    );
    let again = Request::delete(FOCUS_SERVER, format!("/job/{}", encode(&job))).send()?;
    soft(expect_status(&again, 404));
    Ok(())
}

fn encode(id: &str) -> String {
    scenarios_sdk::encode_component(id)
}
