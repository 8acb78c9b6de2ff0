//! Watching a Focus Server job's gRPC data stream: [`watch_stream`] gives a [`StreamReport`]
//! (frames, rows, first-frame latency, the largest gap, whether it ended), which
//! [`expect_max_gap`] and [`expect_open`] check.
//!
//! ```no_run
//! use scenarios_sdk::prelude::*;
//!
//! fn stream_holds(job: &str) -> Outcome {
//!     require(&[Capability::WatchStream])?;
//!     let report = watch_stream(job, 0, secs(10))?;
//!     expect_max_gap(&report, ms(130))?;
//!     expect_open(&report)?;
//!     Ok(())
//! }
//! ```

use std::time::Duration;

use crate::bindings::focus::scenario::focus_server as wit;
use crate::error::host;
use crate::time::duration_to_nanos;
use crate::{Failure, HostError, Seconds};

/// What watching one of a job's data streams saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamReport {
    /// The job whose stream was watched.
    pub job_id: String,
    /// The stream of the job, from its `channel_to_stream_index`.
    pub stream_id: u32,
    /// Messages received.
    pub frames: u64,
    /// Spectrogram rows received, over all messages.
    pub rows: u64,
    /// From the start of the watch to the first message; `None` when none came.
    pub first_frame: Option<Duration>,
    /// The longest time between two messages, or from the start to the first, or from the
    /// last to the end of the watch when the stream stayed open.
    pub max_gap: Duration,
    /// Whether the server ended the stream before the watch was over.
    pub ended: bool,
    /// How the stream ended when it ended with an error (its gRPC status).
    pub error: Option<String>,
    /// How long the watch lasted.
    pub elapsed: Duration,
}

impl StreamReport {
    /// `stream 0 of job j-1, watched 10.00 s (120 frames)`: the window, for messages.
    fn window(&self) -> String {
        format!(
            "stream {} of job {}, watched {} ({} frames)",
            self.stream_id,
            self.job_id,
            Seconds(self.elapsed),
            self.frames
        )
    }
}

/// Connects to data stream `stream_id` of job `job_id`, at the address its configure
/// announced, and watches it for `duration` or until it ends. The call blocks for the watch;
/// run it while a fault is in place to see the stream through it.
/// [`HostError::Unsupported`] (a skip) where the environment cannot watch streams.
///
/// ```no_run
/// let report = scenarios_sdk::watch_stream("j-1", 0, scenarios_sdk::secs(5)).unwrap();
/// println!("{} frames, largest gap {:?}", report.frames, report.max_gap);
/// ```
pub fn watch_stream(
    job_id: &str,
    stream_id: u32,
    duration: Duration,
) -> Result<StreamReport, HostError> {
    let report = host(wit::watch_stream(
        job_id,
        stream_id,
        duration_to_nanos(duration),
    ))?;
    Ok(StreamReport {
        job_id: job_id.to_string(),
        stream_id,
        frames: report.frames,
        rows: report.rows,
        first_frame: report.first_frame.map(Duration::from_nanos),
        max_gap: Duration::from_nanos(report.max_gap),
        ended: report.ended,
        error: report.error,
        elapsed: Duration::from_nanos(report.elapsed),
    })
}

/// Expects the largest gap between frames of the watch to be at most `limit`.
///
/// ```
/// use scenarios_sdk::{StreamReport, expect_max_gap, ms, secs};
///
/// let report = StreamReport {
///     job_id: "j-1".into(), stream_id: 0, frames: 40, rows: 40,
///     first_frame: Some(ms(12)), max_gap: ms(1200), ended: false, error: None, elapsed: secs(10),
/// };
/// assert_eq!(
///     expect_max_gap(&report, ms(130)).unwrap_err().message(),
///     "the largest gap between frames was 1.200 s, over the 0.130 s limit, on stream 0 of job j-1, watched 10.00 s (40 frames)"
/// );
/// ```
pub fn expect_max_gap(report: &StreamReport, limit: Duration) -> Result<(), Failure> {
    if report.max_gap <= limit {
        return Ok(());
    }
    Err(Failure::new(format!(
        "the largest gap between frames was {:.3}, over the {:.3} limit, on {}",
        Seconds(report.max_gap),
        Seconds(limit),
        report.window()
    )))
}

/// Expects the stream to have stayed open for the whole watch.
///
/// ```
/// use scenarios_sdk::{StreamReport, expect_open, ms, secs};
///
/// let report = StreamReport {
///     job_id: "j-1".into(), stream_id: 0, frames: 3, rows: 3, first_frame: Some(ms(5)),
///     max_gap: ms(100), ended: true, error: Some("unavailable".into()), elapsed: secs(2),
/// };
/// assert_eq!(
///     expect_open(&report).unwrap_err().message(),
///     "the stream ended (unavailable) on stream 0 of job j-1, watched 2.00 s (3 frames)"
/// );
/// ```
pub fn expect_open(report: &StreamReport) -> Result<(), Failure> {
    if !report.ended {
        return Ok(());
    }
    let how = report
        .error
        .as_deref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    Err(Failure::new(format!(
        "the stream ended{how} on {}",
        report.window()
    )))
}
