//! MongoDB outages under load, with k6-style thresholds on what the load measured: the Focus
//! Server's circuit breaker must hold when many requests arrive at once, and let traffic
//! through again as soon as MongoDB is back.

use scenarios_sdk::payloads::historic;
use scenarios_sdk::prelude::*;
use scenarios_sdk::{Bucket, stop_at_rollback};

use crate::checks::{p99_limit, sla};
use crate::database::MONGODB;

const FOCUS: &str = "focus-server";

/// A load of historic configures, all under `task`, so that the jobs they start can be found
/// and stopped afterwards.
fn historic_load(task: &str) -> Load {
    let path = format!("/configure?task_id={task}");
    Load::post_json(FOCUS, &path, &historic())
}

/// Stops, at rollback, every job the load started under `task` (`/jobs` is the server's own
/// registry, so it answers during an outage too).
fn stop_jobs_of(task: &str) -> Outcome {
    let jobs = jobs(task)?;
    info!("the load started {} job(s) of {task}", jobs.len());
    for job in jobs {
        stop_at_rollback(job.id())?;
    }
    Ok(())
}

/// The share of a second's answers that were 200, when it had answers.
fn ok_share(bucket: &Bucket) -> Option<f64> {
    (bucket.count > 0).then(|| 1.0 - bucket.errors as f64 / bucket.count as f64)
}

/// MongoDB refuses and forwards alternately every 2 s for 20 s, under 50 historic configures a
/// second: no 5xx but 503, no answer over the SLA, and in the second half of each window in
/// which MongoDB forwards, at least 80 % of the answers are 200: the gate lets traffic through
/// again without waiting for its own ping.
#[scenario(tags = ["p1", "mongodb", "network", "fault", "load"], timeout = "90s")]
pub fn mongodb_flapping_under_load() -> Outcome {
    require(&[Capability::FaultResetPeer, Capability::Load])?;
    let task = unique_task_id("flapping");
    let window = secs(2);
    let load = historic_load(&task)
        .rate(50)
        .for_duration(secs(20))
        .start()?;
    let started = now();
    for k in 0..10u32 {
        let refusing = k % 2 == 0;
        let guard = refusing
            .then(|| workload(MONGODB).add_fault(Fault::reset_peer(Duration::ZERO)))
            .transpose()?;
        let end = window * (k + 1);
        sleep(end.saturating_sub(started.elapsed()));
        if let Some(guard) = guard {
            guard.remove()?;
        }
    }
    let report = load.finish()?;
    info!(
        "{}: {} sent, p99 {}, statuses {:?}",
        report.description(),
        report.sent(),
        Seconds(report.p99()),
        report.statuses()
    );
    annotate_secs("p99_s", report.p99());
    stop_jobs_of(&task)?;
    expect_no_status(&report, 500..=599, &[503])?;
    let limit = sla()?;
    check!(
        report.max() <= limit,
        "the slowest answer took {}, over the {} SLA",
        Seconds(report.max()),
        Seconds(limit)
    );
    for up in (1..10).step_by(2) {
        // Window `up` is [2·up, 2·up + 2) s; its second half is the bucket 2·up + 1.
        let second = 2 * up + 1;
        let Some(bucket) = report.buckets().iter().find(|b| b.second == second) else {
            continue;
        };
        if let Some(share) = ok_share(bucket) {
            annotate(&format!("ok_share.s{second}"), format!("{share:.2}"));
            check!(
                share >= 0.8,
                "second {second} (MongoDB forwarding since {} s): {:.0} % of {} answers were 200, under 80 %",
                2 * up,
                share * 100.0,
                bucket.count
            );
        }
    }
    Ok(())
}

/// MongoDB scaled to 0 under 200 historic configures a second: from one second after the
/// outage starts, the p99 of each second stays within 50 ms (parameter `p99_limit_s`), and the
/// server answers (503) as many requests a second as it is offered, so the breaker sheds load
/// instead of queueing it.
#[scenario(tags = ["p1", "mongodb", "sla", "load"], timeout = "60s")]
pub fn outage_under_load_p99() -> Outcome {
    require(&[Capability::Scale, Capability::Load])?;
    let task = unique_task_id("outage-load");
    let rate = 200;
    let load = historic_load(&task)
        .rate(rate)
        .for_duration(secs(6))
        .start()?;
    workload(MONGODB).scale(0)?;
    let outage = now();
    let report = load.finish()?;
    info!(
        "{}: {} sent, p99 {}, statuses {:?}, outage began {} after the load",
        report.description(),
        report.sent(),
        Seconds(report.p99()),
        report.statuses(),
        Seconds(outage.elapsed().saturating_sub(report.elapsed()))
    );
    stop_jobs_of(&task)?;
    expect_no_status(&report, 500..=599, &[503])?;
    let limit = p99_limit()?;
    // The outage began in the load's first second; skip it and the one after, and the last,
    // which the load's end cuts short.
    let last = report.buckets().iter().map(|b| b.second).max().unwrap_or(0);
    for bucket in report
        .buckets()
        .iter()
        .filter(|b| b.second >= 2 && b.second < last)
    {
        annotate_secs(&format!("p99_s.s{}", bucket.second), bucket.p99);
        check!(
            bucket.p99 <= limit,
            "second {}: p99 {} over the {} limit",
            bucket.second,
            Seconds(bucket.p99),
            Seconds(limit)
        );
        check!(
            bucket.count * 10 >= u64::from(rate) * 9,
            "second {}: {} answers for {rate} offered, the server fell behind",
            bucket.second,
            bucket.count
        );
    }
    Ok(())
}
