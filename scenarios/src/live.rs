//! Live configures do not need MongoDB: they keep working during an outage, their data
//! streams keep flowing, and their job records land once MongoDB is back.

use scenarios_sdk::prelude::*;

use scenarios_sdk::payloads::live;

use crate::checks::{job_id_of, sla};
use crate::database::{self, MONGODB, health_database_count};

/// While MongoDB is scaled to 0, a live configure (no time window) answers 200 and its job
/// runs; after MongoDB returns, the job's record is written to it.
///
/// The contract cannot read MongoDB itself, so "the record is written" is read from the
/// Focus Server's `/health`: its queue of pending job-record writes holds the record during
/// the outage and drains to empty, with nothing dropped, after MongoDB returns.
#[scenario(tags = ["p1", "mongodb"], timeout = "90s")]
pub fn live_configure_unaffected_by_mongodb_outage() -> Outcome {
    require(&[Capability::Scale])?;
    let mongodb = workload(MONGODB);
    let replicas = mongodb.replicas()?;
    let dropped_before = pending_count("pending_writes_dropped")?;
    database::scale_to_zero()?;
    // Until the Focus Server notices the outage, its writer may hold the record in a write
    // attempt rather than in the queue; the check below is about the outage as it lives it.
    database::wait_focus_server_sees_outage(Duration::from_secs(15))?;

    let task = unique_task_id("live");
    let response = configure(&task, live())?;
    annotate_secs("live_response_time_s", response.elapsed());
    expect_status(&response, 200)?;
    expect_within(&response, sla()?)?;
    let job_id = job_id_of(&response)?;
    let listed = jobs(&task)?;
    ensure!(
        listed
            .iter()
            .any(|j| j.id() == job_id && j.state() == "running"),
        "the live job {job_id} is not listed as running for task {task}: {listed:?}"
    );
    let mut queued = 0;
    wait_until(
        "the live job's record to wait in the Focus Server's pending writes during the outage",
        Duration::from_secs(5),
        database::POLL,
        || {
            queued = pending_count("pending_writes")?;
            Ok(queued >= 1)
        },
    )?;
    info!("{queued} job-record writes wait for mongodb");

    mongodb.scale(replicas.max(1))?;
    mongodb.wait_ready(Duration::from_secs(30))?;
    let back = now();
    wait_until(
        "the Focus Server's pending job-record writes to drain into mongodb",
        Duration::from_secs(15),
        database::POLL,
        || Ok(pending_count("pending_writes")? == 0),
    )?;
    annotate_secs("records_flushed_after_s", back.elapsed());
    let dropped_after = pending_count("pending_writes_dropped")?;
    ensure_eq!(
        dropped_after,
        dropped_before,
        "job-record writes dropped during the outage"
    );
    let listed = jobs(&task)?;
    ensure!(
        listed
            .iter()
            .any(|j| j.id() == job_id && j.state() == "running"),
        "the live job {job_id} stopped running after mongodb returned: {listed:?}"
    );
    Ok(())
}

/// A live job's gRPC data stream keeps flowing through a MongoDB outage: MongoDB is scaled to
/// 0 for 10 s, then restored, and over the outage and the restore the stream stays open with
/// no gap between two frames over 3 × `lines_dt` + 100 ms (the parameter `stream_max_gap_s`
/// replaces that limit). A live job reads no recording, so an outage must not stall it.
///
/// The contract watches a stream for a while and then reports, so the window is watched in two
/// parts: the 10 s of the outage, then 3 s from the moment MongoDB is back.
#[scenario(tags = ["p1", "mongodb", "stream"], timeout = "90s")]
pub fn live_stream_continues_during_mongodb_outage() -> Outcome {
    require(&[Capability::Scale, Capability::WatchStream])?;
    let mongodb = workload(MONGODB);
    let replicas = mongodb.replicas()?.max(1);
    let task = unique_task_id("stream");
    let response = configure(&task, live())?;
    expect_status(&response, 200)?;
    let job_id = job_id_of(&response)?;
    let max_gap = match param(STREAM_GAP_PARAM) {
        Some(_) => param_secs(STREAM_GAP_PARAM, 0.0)?,
        None => three_lines_and_100_ms(&response)?,
    };
    annotate_secs("stream_max_gap_limit_s", max_gap);
    let before = watch_stream(&job_id, 0, Duration::from_secs(1))?;
    ensure!(
        before.frames > 0,
        "the live job {job_id} streamed no frame in the second before the outage: {before:?}"
    );

    database::scale_to_zero()?;
    let outage = watch_stream(&job_id, 0, Duration::from_secs(10))?;
    annotate_secs("stream_max_gap_during_outage_s", outage.max_gap);
    annotate("stream_frames_during_outage", outage.frames);
    mongodb.scale(replicas)?;
    let restore = watch_stream(&job_id, 0, Duration::from_secs(3))?;
    annotate_secs("stream_max_gap_during_restore_s", restore.max_gap);
    for report in [&outage, &restore] {
        expect_open(report)?;
        expect_max_gap(report, max_gap)?;
    }
    Ok(())
}

/// The parameter that replaces the stream's gap limit, in seconds.
const STREAM_GAP_PARAM: &str = "stream_max_gap_s";

/// 3 × the job's `lines_dt` (seconds per row, from the configure answer) + 100 ms.
fn three_lines_and_100_ms(response: &HttpResponse) -> Result<Duration, Stop> {
    let lines_dt = response.json::<Value>()?["lines_dt"].as_f64();
    match lines_dt.and_then(|dt| Duration::try_from_secs_f64(3.0 * dt + 0.1).ok()) {
        Some(limit) => Ok(limit),
        None => fail!(
            "{} answered without a usable lines_dt: {}",
            response.request(),
            response.text()
        ),
    }
}

/// `/health`'s `database.<field>`, which this scenario cannot do without.
fn pending_count(field: &str) -> Result<u64, Stop> {
    match health_database_count(field)? {
        Some(count) => Ok(count),
        None => fail!(
            "the Focus Server's /health reports no database.{field}, so whether job records \
             reach mongodb cannot be checked"
        ),
    }
}
