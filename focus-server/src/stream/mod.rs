//! The jobs' gRPC data streams (`pandadatastream.DataStreamService`, see
//! `focus-stream-proto`).
//!
//! Each job serves its own gRPC server on its announced `stream_port` (one port per job, from
//! `stream_base_port` up, at most `--max-jobs` of them): the port is bound when the job starts
//! and closed when it stops, so nothing listens on a port `/configure` did not announce.
//! `StreamData(stream_id)` sends the rows of that stream of the grouping
//! (`channel_to_stream_index`) at the job's `lines_dt` cadence: synthetic spectrogram levels
//! ([`rows`]). Live jobs stream until stopped — the streams never touch MongoDB, so an outage
//! does not pause them; historic jobs stream their window's rows in real time, then end.

pub mod rows;
pub mod server;
pub mod service;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

pub use rows::{Cadence, Frames, RowClock};
pub use server::BoundPort;
pub use service::JobStreams;

use crate::derive::Derived;
use crate::timefmt::now_epoch_seconds;

/// What one job streams: its row clock and the shape of each of its streams.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    /// The job's rows.
    pub clock: Arc<dyn RowClock>,
    /// Stream `i`'s channels and bins.
    pub streams: Vec<Frames>,
}

impl StreamPlan {
    /// The plan of a job with the figures `derived`, historic over `window` (epoch seconds)
    /// or live when `None`, starting now.
    pub fn new(derived: &Derived, window: Option<(f64, f64)>, job_id: &str) -> Self {
        let clock = match window {
            None => Cadence::new(
                Instant::now(),
                derived.lines_dt,
                None,
                (now_epoch_seconds() * 1000.0) as i64,
            ),
            Some((start, end)) => Cadence::new(
                Instant::now(),
                derived.lines_dt,
                Some(Cadence::window_rows(end - start, derived.lines_dt)),
                (start * 1000.0) as i64,
            ),
        };
        Self {
            clock: Arc::new(clock),
            streams: stream_shapes(derived, job_id.parse().ok()),
        }
    }
}

/// The channels of each stream of `channel_to_stream_index` (contiguous groups), with the
/// job's frequency bins (none for a view without a frequency axis).
pub fn stream_shapes(derived: &Derived, job_id: Option<i32>) -> Vec<Frames> {
    let mut ranges: BTreeMap<usize, (u32, u32)> = BTreeMap::new();
    for (channel, &index) in &derived.channel_to_stream_index {
        let Ok(c) = channel.parse::<u32>() else {
            continue;
        };
        let r = ranges.entry(index).or_insert((c, c));
        *r = (r.0.min(c), r.1.max(c));
    }
    let bins = u32::try_from(derived.frequencies_amount)
        .ok()
        .filter(|&b| b > 0);
    ranges
        .into_values()
        .map(|(start_channel, end_channel)| Frames {
            start_channel,
            end_channel,
            bins,
            job_id,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn derived(map: &[(u32, usize)], bins: usize) -> Derived {
        Derived {
            frequencies_list: vec![0.0; bins],
            frequencies_amount: bins,
            lines_dt: 0.01,
            channel_to_stream_index: map.iter().map(|(c, i)| (c.to_string(), *i)).collect(),
            stream_amount: map.iter().map(|m| m.1 + 1).max().unwrap_or(0),
            channel_amount: map.len(),
        }
    }

    #[test]
    fn each_stream_has_its_group_of_channels() {
        let map = [(1, 0), (2, 0), (3, 0), (4, 1), (5, 1), (6, 1), (7, 2), (8, 2)];
        let shapes = stream_shapes(&derived(&map, 64), Some(3));
        let ranges: Vec<(u32, u32)> = shapes
            .iter()
            .map(|f| (f.start_channel, f.end_channel))
            .collect();
        assert_eq!(ranges, [(1, 3), (4, 6), (7, 8)]);
        assert!(shapes.iter().all(|f| f.bins == Some(64) && f.job_id == Some(3)));
        let waterfall = stream_shapes(&derived(&[(5, 0), (6, 0)], 0), None);
        assert_eq!(waterfall[0].bins, None);
        assert_eq!((waterfall[0].start_channel, waterfall[0].end_channel), (5, 6));
    }

    #[test]
    fn a_historic_plan_has_its_window_of_rows() {
        let d = derived(&[(1, 0)], 8);
        let plan = StreamPlan::new(&d, Some((100.0, 103.0)), "job");
        assert_eq!(plan.clock.total(), Some(300));
        assert_eq!(plan.clock.timestamp_ms(1), 100_010);
        assert_eq!(StreamPlan::new(&d, None, "job").clock.total(), None);
    }
}
