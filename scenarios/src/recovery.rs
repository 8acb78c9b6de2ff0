//! Recovery: a MongoDB pod deleted and recreated (Ticket #2, option B), and the first success
//! after MongoDB is restored.

use scenarios_sdk::prelude::*;

use crate::checks::{configure_until_success, expect_fast_database_503, sla};
use crate::database::{self, MONGODB};
use scenarios_sdk::payloads::historic;

/// Ticket #2, option B: while a deleted MongoDB pod is recreated, configures sent every 500 ms
/// get 503 (never another 5xx, never over 5 s), and one succeeds within 60 s. At least one
/// 503 must be seen, or the outage window was not observed.
#[scenario(tags = ["p2", "mongodb"], timeout = "120s")]
pub fn mongodb_pod_restart_resilience() -> Outcome {
    require(&[Capability::DeletePod])?;
    let mongodb = workload(MONGODB);
    let deleted = mongodb.delete_pod()?;
    let deleted_at = now();
    info!("deleted pod {deleted}; configuring every 500 ms until one succeeds");

    let task = unique_task_id("pod-restart");
    let (ok, unavailable) = configure_until_success(
        &task,
        &historic(),
        Duration::from_secs(60),
        Duration::from_millis(500),
    )?;
    let recovered = deleted_at.elapsed();
    annotate("outage_503_count", unavailable);
    annotate_secs("first_success_after_delete_s", recovered);
    info!(
        "{} answered 200 {} after the deletion, after {unavailable} 503s",
        ok.request(),
        Seconds(recovered)
    );
    ensure!(
        unavailable > 0,
        "the outage window was not observed: the first configure after deleting pod {deleted} \
         already succeeded, so nothing shows how the Focus Server behaves while MongoDB is gone"
    );

    let found = jobs(&task)?;
    ensure_eq!(
        found.len(),
        1,
        "jobs orchestrated for task {task} (only the 200 may start one)"
    );
    let pods = mongodb.pods()?;
    ensure!(
        pods.iter().all(|p| p.name != deleted),
        "the deleted pod {deleted} is still listed"
    );
    Ok(())
}

/// After an outage and a scale-up, the first successful configure comes within 10 s of
/// MongoDB being ready again.
#[scenario(tags = ["p1"], timeout = "90s")]
pub fn focus_server_recovers_after_mongodb_restore() -> Outcome {
    require(&[Capability::Scale])?;
    let mongodb = workload(MONGODB);
    let replicas = mongodb.replicas()?;
    database::scale_to_zero()?;

    let task = unique_task_id("restore");
    let response = configure(&task, historic())?;
    expect_fast_database_503(&response, "outage_response_time_s")?;

    mongodb.scale(replicas.max(1))?;
    mongodb.wait_ready(Duration::from_secs(30))?;
    let ready = now();
    info!("{MONGODB} ready again at {replicas} replicas");

    let (ok, unavailable) = configure_until_success(
        &task,
        &historic(),
        Duration::from_secs(15),
        Duration::from_millis(200),
    )?;
    let recovery = ready.elapsed();
    annotate_secs("recovery_time_s", recovery);
    info!(
        "{} answered 200 {} after mongodb was ready, after {unavailable} 503s",
        ok.request(),
        Seconds(recovery)
    );
    expect_duration_within(
        "the first successful configure after mongodb was ready",
        recovery,
        Duration::from_secs(10),
    )?;
    expect_within(&ok, sla()?)?;
    Ok(())
}
