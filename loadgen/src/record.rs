//! The figures of a load as its requests end, and the report made of them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::classify::TransportError;

/// The slowest latency a histogram keeps exactly enough (an hour); slower ones count as this.
const HIGHEST_MICROS: u64 = 3_600_000_000;

/// Latency percentiles of the answered requests (HTTP answers of any status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latencies {
    /// The median.
    pub p50: Duration,
    /// The 90th percentile.
    pub p90: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The slowest.
    pub max: Duration,
}

/// One second of a load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Seconds since the load started: 0 is the first second.
    pub second: u32,
    /// Requests that ended in this second.
    pub count: u64,
    /// Of them, those with a transport error or a 5xx status.
    pub errors: u64,
    /// The 99th percentile latency of this second's answered requests.
    pub p99: Duration,
}

/// What a load did, from its start to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// What was asked, such as `POST /configure at 200/s for 10 s`.
    pub description: String,
    /// Requests sent.
    pub sent: u64,
    /// Requests due in the open model that were not sent because too many were in flight.
    pub dropped: u64,
    /// Requests still in flight when the load was stopped or hit its deadline, abandoned.
    pub abandoned: u64,
    /// Answers by status, ascending.
    pub statuses: BTreeMap<u16, u64>,
    /// Transport errors by kind.
    pub errors: BTreeMap<TransportError, u64>,
    /// Latency percentiles of the answers.
    pub latency: Latencies,
    /// Per-second buckets, in order, one for every second of the load.
    pub buckets: Vec<Bucket>,
    /// How long it ran.
    pub elapsed: Duration,
    /// Whether it was stopped (by `stop`, a drop or its deadline) before its extent.
    pub stopped: bool,
}

impl LoadReport {
    /// Answers plus transport errors: the requests that ended.
    pub fn ended(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.errors.values().sum::<u64>()
    }
}

/// How one request ended.
pub(crate) type Outcome = (Instant, Result<(u16, Duration), TransportError>);

/// Collects outcomes as they come. Per-second histograms are summarised and dropped once their
/// second is over, so a long load keeps only a few.
pub(crate) struct Recorder {
    started: Instant,
    all: Histogram<u64>,
    max: Duration,
    statuses: BTreeMap<u16, u64>,
    errors: BTreeMap<TransportError, u64>,
    buckets: Vec<Bucket>,
    open: BTreeMap<u32, Histogram<u32>>,
}

impl Recorder {
    pub fn new(started: Instant) -> Self {
        Self {
            started,
            all: histogram(3),
            max: Duration::ZERO,
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            buckets: Vec::new(),
            open: BTreeMap::new(),
        }
    }

    pub fn record(&mut self, (ended, result): Outcome) {
        let second = u32::try_from(ended.saturating_duration_since(self.started).as_secs())
            .unwrap_or(u32::MAX);
        let bucket = self.bucket(second);
        bucket.count += 1;
        match result {
            Ok((status, latency)) => {
                bucket.errors += u64::from(status >= 500);
                *self.statuses.entry(status).or_default() += 1;
                let micros = micros(latency);
                self.all.saturating_record(micros);
                self.max = self.max.max(latency);
                self.open
                    .entry(second)
                    .or_insert_with(|| histogram(2))
                    .saturating_record(micros);
            }
            Err(kind) => {
                bucket.errors += 1;
                *self.errors.entry(kind).or_default() += 1;
            }
        }
        // Seconds two behind this one are over: summarise them.
        let over: Vec<u32> = self
            .open
            .range(..second.saturating_sub(1))
            .map(|(s, _)| *s)
            .collect();
        for s in over {
            self.close(s);
        }
    }

    fn bucket(&mut self, second: u32) -> &mut Bucket {
        let index = second as usize;
        while self.buckets.len() <= index {
            let next = self.buckets.len() as u32;
            self.buckets.push(Bucket {
                second: next,
                ..Bucket::default()
            });
        }
        &mut self.buckets[index]
    }

    fn close(&mut self, second: u32) {
        if let Some(h) = self.open.remove(&second) {
            self.bucket(second).p99 = Duration::from_micros(h.value_at_quantile(0.99));
        }
    }

    pub fn finish(mut self, description: String, counts: Counts, elapsed: Duration) -> LoadReport {
        let seconds: Vec<u32> = self.open.keys().copied().collect();
        for s in seconds {
            self.close(s);
        }
        let q = |q| Duration::from_micros(self.all.value_at_quantile(q));
        let latency = if self.all.is_empty() {
            Latencies::default()
        } else {
            Latencies {
                p50: q(0.5),
                p90: q(0.9),
                p99: q(0.99),
                max: self.max,
            }
        };
        // A bucket for every second the load ran, even a quiet one.
        let seconds = elapsed.as_secs_f64().ceil() as u32;
        if seconds > 0 {
            self.bucket(seconds - 1);
        }
        LoadReport {
            description,
            sent: counts.sent,
            dropped: counts.dropped,
            abandoned: counts.abandoned,
            statuses: self.statuses,
            errors: self.errors,
            latency,
            buckets: self.buckets,
            elapsed,
            stopped: counts.stopped,
        }
    }
}

/// What the driver counted itself.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    pub sent: u64,
    pub dropped: u64,
    pub abandoned: u64,
    pub stopped: bool,
}

fn histogram<T: hdrhistogram::Counter>(significant_figures: u8) -> Histogram<T> {
    Histogram::new_with_bounds(1, HIGHEST_MICROS, significant_figures)
        .expect("constant bounds are valid")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, HIGHEST_MICROS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_buckets_and_errors_come_from_the_outcomes() {
        let t0 = Instant::now();
        let mut r = Recorder::new(t0);
        for i in 1..=100 {
            r.record((t0 + ms(10 * i), Ok((200, ms(i)))));
        }
        r.record((t0 + ms(1500), Ok((503, ms(2)))));
        r.record((t0 + ms(1600), Err(TransportError::Reset)));
        r.record((t0 + ms(3500), Err(TransportError::Timeout)));
        let counts = Counts {
            sent: 103,
            ..Counts::default()
        };
        let report = r.finish("test".into(), counts, ms(4200));
        assert_eq!(report.statuses, BTreeMap::from([(200, 100), (503, 1)]));
        assert_eq!(report.errors.len(), 2);
        assert_eq!(report.ended(), 103);
        let near = |d: Duration, want: u64| d.abs_diff(ms(want)) <= ms(want) / 100 + ms(0);
        assert!(near(report.latency.p50, 50), "{:?}", report.latency);
        assert!(near(report.latency.p90, 90), "{:?}", report.latency);
        assert!(near(report.latency.p99, 99), "{:?}", report.latency);
        assert_eq!(report.latency.max, ms(100));
        let b = &report.buckets;
        assert_eq!(b.len(), 5, "{b:?}");
        assert_eq!((b[0].count, b[0].errors), (99, 0));
        assert_eq!((b[1].count, b[1].errors), (3, 2));
        assert_eq!(
            (b[2].count, b[3].count, b[3].errors, b[4].count),
            (0, 1, 1, 0)
        );
        assert!(near(b[0].p99, 99), "{:?}", b[0]);
    }
}
