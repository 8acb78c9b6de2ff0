//! The rows a job produces, and how they become `DataStream` messages.
//!
//! [`RowClock`] says which rows exist at a given instant: a job produces one row per
//! `lines_dt` from its start (row 0 at once), forever (live) or until its window has played
//! (historic). [`Frames`] turns a run of rows into one message of one stream: synthetic
//! spectrogram levels, one byte per (channel, frequency bin), bounded in size.

use std::time::{Duration, Instant};

use focus_stream_proto::DataStream;

/// The most rows one message carries (a slow reader skips the older rows beyond it).
pub const MAX_ROWS_PER_FRAME: usize = 256;
/// The most payload bytes one message carries (well under gRPC's usual 4 MiB limit).
pub const MAX_FRAME_BYTES: usize = 1 << 20;
/// The level byte 0 stands for, in dB.
pub const LEVEL_MIN_DB: f32 = -120.0;
/// The level byte 255 stands for, in dB.
pub const LEVEL_MAX_DB: f32 = 0.0;

/// Which rows of a job exist when.
pub trait RowClock: Send + Sync + std::fmt::Debug + 'static {
    /// How many rows exist at `now` (rows `0..n`), at most [`RowClock::total`].
    fn produced(&self, now: Instant) -> u64;
    /// When row `n` comes into existence.
    fn due(&self, n: u64) -> Instant;
    /// How many rows the job produces in all: `None` for a live job.
    fn total(&self) -> Option<u64>;
    /// Row `n`'s time, in milliseconds since the Unix epoch.
    fn timestamp_ms(&self, n: u64) -> i64;
}

/// A row every `lines_dt` from `start`: the job's row clock.
#[derive(Debug, Clone)]
pub struct Cadence {
    start: Instant,
    lines_dt: Duration,
    total: Option<u64>,
    origin_ms: i64,
}

impl Cadence {
    /// Rows every `lines_dt` seconds (at least 1 µs) from `start`, whose row 0 is at
    /// `origin_ms`; `total` rows, or endless when `None`.
    pub fn new(start: Instant, lines_dt: f64, total: Option<u64>, origin_ms: i64) -> Self {
        let lines_dt = Duration::try_from_secs_f64(lines_dt)
            .unwrap_or(Duration::from_secs(1))
            .max(Duration::from_micros(1));
        Self {
            start,
            lines_dt,
            total,
            origin_ms,
        }
    }

    /// The rows of a window of `seconds` at `lines_dt`: at least one.
    pub fn window_rows(seconds: f64, lines_dt: f64) -> u64 {
        let rows = (seconds / lines_dt).ceil();
        if rows.is_finite() && rows >= 1.0 {
            rows.min(u64::MAX as f64) as u64
        } else {
            1
        }
    }
}

impl RowClock for Cadence {
    fn produced(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start).as_nanos();
        let n = (elapsed / self.lines_dt.as_nanos()).saturating_add(1);
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        self.total.map_or(n, |t| n.min(t))
    }

    fn due(&self, n: u64) -> Instant {
        let offset = self.lines_dt.as_nanos().saturating_mul(u128::from(n));
        let offset = Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX));
        self.start.checked_add(offset).unwrap_or(self.start + Duration::from_secs(1 << 40))
    }

    fn total(&self) -> Option<u64> {
        self.total
    }

    fn timestamp_ms(&self, n: u64) -> i64 {
        let offset = self.lines_dt.as_secs_f64() * 1000.0 * n as f64;
        self.origin_ms.saturating_add(offset.min(i64::MAX as f64) as i64)
    }
}

/// The shape of one stream's rows: its channels and frequency bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frames {
    /// The stream's first channel.
    pub start_channel: u32,
    /// The stream's last channel (inclusive).
    pub end_channel: u32,
    /// Frequency bins per channel; `None` for a view without a frequency axis (one level per
    /// channel).
    pub bins: Option<u32>,
    /// The job's number, when its id is one.
    pub job_id: Option<i32>,
}

impl Frames {
    /// Channels in a row.
    pub fn channels(&self) -> usize {
        (self.end_channel.saturating_sub(self.start_channel) as usize).saturating_add(1)
    }

    /// Bytes in a row.
    pub fn row_bytes(&self) -> usize {
        self.channels()
            .saturating_mul(self.bins.unwrap_or(1).max(1) as usize)
    }

    /// The most rows one message of this stream carries: at least one.
    pub fn max_rows(&self) -> u64 {
        (MAX_FRAME_BYTES / self.row_bytes().max(1)).clamp(1, MAX_ROWS_PER_FRAME) as u64
    }

    /// The message holding rows `rows` (at most [`Frames::max_rows`] of them).
    pub fn frame(&self, clock: &dyn RowClock, rows: std::ops::Range<u64>) -> DataStream {
        let rows = rows.start.max(rows.end.saturating_sub(self.max_rows()))..rows.end;
        DataStream {
            start_channel: to_i32(u64::from(self.start_channel)),
            end_channel: to_i32(u64::from(self.end_channel)),
            timestamp_in_milis: rows.clone().map(|n| clock.timestamp_ms(n)).collect(),
            row_index: rows.clone().map(to_i32).collect(),
            data_shape_x: to_i32(rows.end - rows.start),
            data_shape_y: to_i32(self.channels() as u64),
            data_shape_z: self.bins.map(|b| to_i32(u64::from(b))),
            global_maximum: LEVEL_MAX_DB,
            global_minimum: LEVEL_MIN_DB,
            main_data: rows.map(|n| self.levels(n)).collect(),
            job_id: self.job_id,
        }
    }

    /// Row `n`'s levels, channel-major: a noise floor with a tone that drifts across the bins
    /// over time, different on each channel. A test pattern, not physics.
    fn levels(&self, n: u64) -> Vec<u8> {
        let bins = self.bins.unwrap_or(1).max(1) as u64;
        let mut out = Vec::with_capacity(self.row_bytes());
        for c in 0..self.channels() as u64 {
            let tone = (n / 8 + c * 5) % bins;
            for b in 0..bins {
                let noise = (n.wrapping_mul(31) ^ c.wrapping_mul(17) ^ b.wrapping_mul(7)) % 48;
                out.push(if b == tone { 220 } else { 40 + noise as u8 });
            }
        }
        out
    }
}

fn to_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_makes_a_row_per_lines_dt_from_row_zero_at_once() {
        let t0 = Instant::now();
        let c = Cadence::new(t0, 0.01, None, 1_000);
        assert_eq!(c.produced(t0), 1);
        assert_eq!(c.produced(t0 + Duration::from_millis(95)), 10);
        assert_eq!(c.due(3), t0 + Duration::from_millis(30));
        assert_eq!(c.timestamp_ms(3), 1_030);
        let historic = Cadence::new(t0, 0.01, Some(5), 0);
        assert_eq!(historic.produced(t0 + Duration::from_secs(9)), 5);
        assert_eq!(historic.total(), Some(5));
    }

    #[test]
    fn absurd_cadences_do_not_panic() {
        let t0 = Instant::now();
        for dt in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300] {
            let c = Cadence::new(t0, dt, None, i64::MAX);
            let _ = (c.produced(t0 + Duration::from_secs(1)), c.due(u64::MAX), c.timestamp_ms(u64::MAX));
        }
        assert_eq!(Cadence::window_rows(10.0, 0.01), 1000);
        assert_eq!(Cadence::window_rows(f64::NAN, 0.01), 1);
    }

    #[test]
    fn a_frame_has_the_stream_shape_and_bounded_size() {
        let t0 = Instant::now();
        let c = Cadence::new(t0, 0.5, None, 10_000);
        let f = Frames { start_channel: 4, end_channel: 6, bins: Some(64), job_id: Some(7) };
        let m = f.frame(&c, 2..4);
        assert_eq!((m.start_channel, m.end_channel), (4, 6));
        assert_eq!((m.data_shape_x, m.data_shape_y, m.data_shape_z), (2, 3, Some(64)));
        assert_eq!(m.row_index, [2, 3]);
        assert_eq!(m.timestamp_in_milis, [11_000, 11_500]);
        assert!(m.main_data.iter().all(|row| row.len() == 3 * 64));
        let wide = Frames { start_channel: 1, end_channel: 2222, bins: Some(257), job_id: None };
        let m = wide.frame(&c, 0..10_000);
        assert_eq!(m.data_shape_x, 1);
        assert_eq!(m.row_index, [9_999]);
        let many = f.frame(&c, 0..100_000);
        assert_eq!(many.row_index.len(), MAX_ROWS_PER_FRAME);
        assert_eq!(many.row_index.last(), Some(&99_999));
    }
}
