//! Smoke checks: everything up answers, the happy path orchestrates a job, and the P0 ticket's
//! exact legacy request works.

use std::collections::BTreeSet;

use scenarios_sdk::prelude::*;

use scenarios_sdk::payloads::{LEGACY_TICKET_BODY, LEGACY_TICKET_TASK, historic};

use crate::checks::{expect_fast_database_503, job_id_of, sla};
use crate::database::{self, MONGODB};

/// With everything up, a historic configure answers 200 with a job id, the job is listed for
/// its task, and GET /metadata/{job_id} answers.
#[scenario(tags = ["smoke"], timeout = "30s")]
pub fn configure_happy_path_orchestrates_job() -> Outcome {
    let task = unique_task_id("happy-path");
    let response = configure(&task, historic())?;
    annotate_secs("response_time_s", response.elapsed());
    expect_status(&response, 200)?;
    expect_within(&response, sla()?)?;
    let job_id = job_id_of(&response)?;

    let listed = jobs(&task)?;
    ensure!(
        listed.iter().any(|j| j.id() == job_id),
        "job {job_id} is not listed for task {task}: {listed:?}"
    );
    let metadata = get(&format!("/metadata/{job_id}"))?;
    expect_status(&metadata, 200)?;
    metadata.json::<Value>()?;
    Ok(())
}

/// The P0 ticket's exact request, POST /config/test_task with canvasInfo, sensors and
/// yymmddHHMMSS times, gets 200 with everything up and 503 within 5 s with MongoDB at 0.
#[scenario(tags = ["smoke"], timeout = "60s")]
pub fn legacy_config_endpoint_ticket_payload() -> Outcome {
    let up = configure_legacy(LEGACY_TICKET_TASK, LEGACY_TICKET_BODY)?;
    annotate_secs("response_time_up_s", up.elapsed());
    expect_status(&up, 200)?;
    expect_within(&up, sla()?)?;
    let before = job_set(LEGACY_TICKET_TASK)?;
    ensure!(
        !before.is_empty(),
        "the 200 listed no job for task {LEGACY_TICKET_TASK}"
    );

    database::scale_to_zero()?;
    let down = configure_legacy(LEGACY_TICKET_TASK, LEGACY_TICKET_BODY)?;
    expect_fast_database_503(&down, "response_time_down_s")?;
    let after = job_set(LEGACY_TICKET_TASK)?;
    ensure_eq!(
        after,
        before,
        "jobs of task {LEGACY_TICKET_TASK} after the 503 (nothing new may start)"
    );
    Ok(())
}

/// The jobs of `task`, as (id, created-at) pairs.
fn job_set(task: &str) -> Result<BTreeSet<(String, String)>, Stop> {
    Ok(jobs(task)?
        .into_iter()
        .map(|j| (j.id().to_string(), j.created_at().to_string()))
        .collect())
}

/// The Focus Server answers /ack and /health, the MongoDB probe is reachable, and every
/// workload of the environment has its replicas ready.
#[scenario(tags = ["smoke"], timeout = "30s")]
pub fn basic_connectivity() -> Outcome {
    let ack = get("/ack")?;
    expect_status(&ack, 200)?;
    let health = get("/health")?;
    expect_status(&health, 200)?;
    health.json::<Value>()?;
    annotate_secs("ack_time_s", ack.elapsed());

    let mongodb = probe(MONGODB)?;
    annotate_secs("mongodb_probe_latency_s", mongodb.latency());
    ensure!(
        mongodb.reachable(),
        "the mongodb probe failed: {}",
        mongodb.detail()
    );

    let env = environment();
    ensure!(
        !env.workloads().is_empty(),
        "environment `{}` declares no workloads, so none can be checked",
        env.name()
    );
    for name in env.workloads() {
        let wanted = workload(name).replicas()?;
        let pods = workload(name).pods()?;
        let ready = pods.iter().filter(|p| p.ready).count();
        info!("{name}: {ready} of {wanted} replicas ready");
        ensure!(
            ready == wanted as usize,
            "{name} has {ready} ready pods, {wanted} wanted: {pods:?}"
        );
    }
    Ok(())
}
