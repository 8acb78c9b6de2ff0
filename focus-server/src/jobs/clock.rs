//! The job row clock: when a job's rows are produced. Both the waterfall API and the gRPC data
//! stream read it, so they always agree on how many rows exist.
//!
//! A job produces one row every `lines_dt` seconds from its start: row `i` (0-based) is due at
//! `start + (i + 1)·lines_dt`, so a fresh job has no rows yet. A live job produces rows until it
//! is stopped. A historic job plays its window back in real time: it has
//! `ceil((end − start) / lines_dt)` rows (at least one), and it is finished once the last one is
//! due. A row's data time (`timestamp_in_milis`) is the window's start plus `i·lines_dt` for a
//! historic job, the job's start plus `i·lines_dt` for a live one.
//!
//! The interval is clamped to [`MIN_ROW_INTERVAL`, `MAX_ROW_INTERVAL`] for the arithmetic (an
//! absurd `lines_dt` from a request can never overflow a deadline); all sums are checked.

use std::time::{Duration, Instant};

use crate::timefmt::now_epoch_seconds;

/// The shortest row interval the clock keeps (1 µs).
pub const MIN_ROW_INTERVAL: Duration = Duration::from_micros(1);
/// The longest row interval the clock keeps (one day).
pub const MAX_ROW_INTERVAL: Duration = Duration::from_secs(86_400);

/// When a job's rows are produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowClock {
    started: Instant,
    started_ms: i64,
    interval_ns: u64,
    total_rows: Option<u64>,
    data_start_ms: i64,
}

impl RowClock {
    /// The clock of a live job started now, one row every `lines_dt` seconds.
    pub fn live(lines_dt: f64) -> Self {
        Self::start_at(Instant::now(), now_epoch_seconds(), lines_dt, None)
    }

    /// The clock of a historic job started now, playing `window` (epoch seconds) back.
    pub fn historic(lines_dt: f64, window: (f64, f64)) -> Self {
        Self::start_at(Instant::now(), now_epoch_seconds(), lines_dt, Some(window))
    }

    /// A clock started at `started` (wall time `started_epoch` seconds); a historic one when a
    /// window is given.
    pub fn start_at(
        started: Instant,
        started_epoch: f64,
        lines_dt: f64,
        window: Option<(f64, f64)>,
    ) -> Self {
        let interval = Duration::try_from_secs_f64(lines_dt)
            .unwrap_or(if lines_dt.is_nan() || lines_dt <= 0.0 {
                MIN_ROW_INTERVAL
            } else {
                MAX_ROW_INTERVAL
            })
            .clamp(MIN_ROW_INTERVAL, MAX_ROW_INTERVAL);
        let interval_ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
        let started_ms = epoch_ms(started_epoch);
        let (total_rows, data_start_ms) = match window {
            Some((start, end)) => {
                let rows = ((end - start).max(0.0) * 1e9 / interval_ns as f64 - 1e-6).ceil();
                // `as` saturates: NaN becomes 0, a huge window u64::MAX.
                (Some((rows as u64).max(1)), epoch_ms(start))
            }
            None => (None, started_ms),
        };
        Self {
            started,
            started_ms,
            interval_ns,
            total_rows,
            data_start_ms,
        }
    }

    /// The interval between two rows.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }

    /// When the job started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The job's start, epoch milliseconds.
    pub fn started_ms(&self) -> i64 {
        self.started_ms
    }

    /// Whether the job plays a historic window back.
    pub fn is_historic(&self) -> bool {
        self.total_rows.is_some()
    }

    /// How many rows a historic job has in all; `None` for a live job.
    pub fn total_rows(&self) -> Option<u64> {
        self.total_rows
    }

    /// How many rows were produced by `at`.
    pub fn rows_at(&self, at: Instant) -> u64 {
        let elapsed = at.saturating_duration_since(self.started).as_nanos();
        let rows = u64::try_from(elapsed / u128::from(self.interval_ns)).unwrap_or(u64::MAX);
        self.total_rows.map_or(rows, |total| rows.min(total))
    }

    /// How many rows were produced by now.
    pub fn rows_now(&self) -> u64 {
        self.rows_at(Instant::now())
    }

    /// When row `index` is due; `None` past a historic job's last row (or beyond any clock).
    pub fn row_due(&self, index: u64) -> Option<Instant> {
        if self.total_rows.is_some_and(|total| index >= total) {
            return None;
        }
        let nanos = index.checked_add(1)?.checked_mul(self.interval_ns)?;
        self.started.checked_add(Duration::from_nanos(nanos))
    }

    /// When a historic job has produced its last row; `None` for a live job.
    pub fn finishes_at(&self) -> Option<Instant> {
        let total = self.total_rows?;
        self.row_due(total.checked_sub(1)?)
    }

    /// Whether a historic job has produced every row by `at` (a live job never finishes).
    pub fn is_finished_at(&self, at: Instant) -> bool {
        self.total_rows
            .is_some_and(|total| self.rows_at(at) >= total)
    }

    /// Whether a historic job has produced every row by now.
    pub fn is_finished(&self) -> bool {
        self.is_finished_at(Instant::now())
    }

    /// The data time of row `index`, epoch milliseconds.
    pub fn row_timestamp_ms(&self, index: u64) -> i64 {
        let offset_ms = u128::from(index) * u128::from(self.interval_ns) / 1_000_000;
        self.data_start_ms
            .saturating_add(i64::try_from(offset_ms).unwrap_or(i64::MAX))
    }
}

fn epoch_ms(seconds: f64) -> i64 {
    // `as` saturates and maps NaN to 0.
    (seconds * 1000.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_735_689_600.0;

    #[test]
    fn a_live_clock_counts_rows_and_never_finishes() {
        let start = Instant::now();
        let c = RowClock::start_at(start, 1000.0, 0.01, None);
        assert_eq!(c.rows_at(start), 0);
        assert_eq!(c.rows_at(start + Duration::from_millis(9)), 0);
        assert_eq!(c.rows_at(start + Duration::from_millis(10)), 1);
        assert_eq!(c.rows_at(start + Duration::from_secs(10)), 1000);
        assert!(!c.is_finished_at(start + Duration::from_secs(1_000_000)));
        assert_eq!(c.row_due(0), Some(start + Duration::from_millis(10)));
        assert_eq!(c.row_timestamp_ms(3), 1_000_030);
        assert_eq!((c.total_rows(), c.finishes_at()), (None, None));
    }

    #[test]
    fn a_historic_clock_plays_its_window_then_finishes() {
        let start = Instant::now();
        let c = RowClock::start_at(start, 5000.0, 0.5, Some((T0, T0 + 2.0)));
        assert_eq!(c.total_rows(), Some(4));
        assert_eq!(c.rows_at(start + Duration::from_millis(1200)), 2);
        assert!(!c.is_finished_at(start + Duration::from_millis(1999)));
        assert!(c.is_finished_at(start + Duration::from_secs(2)));
        assert_eq!(c.rows_at(start + Duration::from_secs(60)), 4);
        assert_eq!(c.finishes_at(), Some(start + Duration::from_secs(2)));
        assert_eq!(c.row_due(4), None);
        assert_eq!(c.row_timestamp_ms(1), 1_735_689_600_500);
        // 600 s at 0.01 s is 60 000 rows, not one more from rounding.
        let ticket = RowClock::start_at(start, 0.0, 0.01, Some((T0, T0 + 600.0)));
        assert_eq!(ticket.total_rows(), Some(60_000));
    }

    #[test]
    fn absurd_intervals_are_clamped_not_overflowed() {
        let start = Instant::now();
        for dt in [0.0, -1.0, f64::NAN, 1e-300, 1e300, f64::INFINITY] {
            let c = RowClock::start_at(start, 0.0, dt, Some((0.0, 1e300)));
            assert!(c.interval() >= MIN_ROW_INTERVAL && c.interval() <= MAX_ROW_INTERVAL);
            let _ = c.rows_at(start + Duration::from_secs(3600));
            let _ = c.row_due(u64::MAX - 1);
            let _ = c.row_timestamp_ms(u64::MAX);
            let _ = c.finishes_at();
        }
        let empty = RowClock::start_at(start, 0.0, 1.0, Some((5.0, 5.0)));
        assert_eq!(empty.total_rows(), Some(1));
    }
}
