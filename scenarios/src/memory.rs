//! Memory during an outage: the ticket asks for no increase in the Focus Server's memory.

use scenarios_sdk::prelude::*;

use crate::checks::expect_no_job;
use crate::database;
use scenarios_sdk::payloads::historic;

/// One reading of a workload's resident memory.
#[derive(Debug, Clone)]
pub struct MemoryReading {
    workload: String,
    bytes: u64,
}

impl MemoryReading {
    /// Reads `name`'s resident memory; a failure when no pod of it runs.
    pub fn take(name: &str) -> Result<MemoryReading, Stop> {
        match workload(name).memory()? {
            Some(bytes) => Ok(MemoryReading {
                workload: name.to_string(),
                bytes,
            }),
            None => fail!("cannot read the memory of {name}: no pod of it runs"),
        }
    }

    /// Reads it where the environment can measure memory; `None` elsewhere.
    pub fn take_if_supported(name: &str) -> Result<Option<MemoryReading>, Stop> {
        if environment().supports(Capability::Memory) {
            Self::take(name).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Annotates both readings and the growth, and expects the growth to be at most `tolerance_pct`
/// percent.
pub fn expect_growth_within(
    before: &MemoryReading,
    after: &MemoryReading,
    tolerance_pct: f64,
) -> Outcome {
    let growth_pct = (after.bytes as f64 - before.bytes as f64) / before.bytes as f64 * 100.0;
    annotate("memory_before_bytes", before.bytes);
    annotate("memory_after_bytes", after.bytes);
    annotate("memory_growth_pct", format_args!("{growth_pct:.2}"));
    info!(
        "{} resident memory: {} before, {} after ({growth_pct:+.2} %)",
        before.workload,
        mib(before.bytes),
        mib(after.bytes)
    );
    ensure!(
        growth_pct <= tolerance_pct,
        "{} resident memory grew {growth_pct:.2} % ({} to {}), over the {tolerance_pct} % tolerance",
        before.workload,
        mib(before.bytes),
        mib(after.bytes)
    );
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// How many configures warm the server up before the first reading.
const WARM_UP: u32 = 50;
/// How many configures the outage gets between the two readings.
const DURING_OUTAGE: u32 = 500;

/// The Focus Server's resident memory grows at most 10 % over 500 configures during a MongoDB
/// outage, measured from after a warm-up of 50.
#[scenario(tags = ["p1", "memory"], timeout = "120s")]
pub fn no_memory_growth_during_outage() -> Outcome {
    require(&[Capability::Scale, Capability::Memory])?;
    database::scale_to_zero()?;
    let task = unique_task_id("memory");
    let payload = historic();

    send_outage_configures(&task, &payload, WARM_UP)?;
    let before = MemoryReading::take(FOCUS_SERVER)?;
    let started = now();
    send_outage_configures(&task, &payload, DURING_OUTAGE)?;
    let took = started.elapsed();
    let after = MemoryReading::take(FOCUS_SERVER)?;

    annotate("configures_during_outage", DURING_OUTAGE);
    annotate_secs("outage_configures_time_s", took);
    expect_no_job(&task)?;
    expect_growth_within(&before, &after, 10.0)
}

/// Sends `count` configures for `task`; each must be a 503 (MongoDB is down).
fn send_outage_configures(task: &str, payload: &Value, count: u32) -> Outcome {
    for sent in 0..count {
        let response = configure(task, payload)?;
        if response.status() != 503 {
            return Err(Failure::new(format!(
                "configure {} of {count} during the outage: {} answered {}, expected 503",
                sent + 1,
                response.request(),
                response.status()
            ))
            .with_detail(format!("response body: {}", response.text()))
            .into());
        }
    }
    Ok(())
}
