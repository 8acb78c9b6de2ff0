//! [`LoadReport`]: what a load did; and the thresholds that check it. Every threshold's
//! failure names the figure, the limit and the window (the load and how long it ran).

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::bindings::focus::scenario::load as wit;
use crate::{Failure, Seconds};

/// Why a request of a load got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportError {
    /// The connection was refused.
    Refused,
    /// The connection was reset or closed before an answer.
    Reset,
    /// No answer within the request's timeout.
    Timeout,
    /// Anything else.
    Other,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportError::Refused => "refused",
            TransportError::Reset => "reset",
            TransportError::Timeout => "timeout",
            TransportError::Other => "other",
        })
    }
}

/// One second of a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Seconds since the load started: 0 is the first second.
    pub second: u32,
    /// Requests that ended in this second.
    pub count: u64,
    /// Of them, those with a transport error or a 5xx status.
    pub errors: u64,
    /// The 99th percentile latency of this second's answers.
    pub p99: Duration,
}

/// What a load did from its start to its end: requests sent, answers by status, transport
/// errors by kind, latency percentiles of the answers (any status), per-second buckets.
///
/// ```
/// use scenarios_sdk::{LoadReport, ms, secs};
///
/// let report = LoadReport::new("POST /configure at 200/s for 10 s", secs(10))
///     .with_status(503, 1990)
///     .with_status(500, 10)
///     .with_latencies(ms(1), ms(2), ms(4), ms(9));
/// assert_eq!(report.sent(), 2000);
/// assert_eq!(report.count(503), 1990);
/// assert_eq!(report.error_rate(), 1.0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    description: String,
    sent: u64,
    statuses: Vec<(u16, u64)>,
    errors: Vec<(TransportError, u64)>,
    latency: [Duration; 4],
    buckets: Vec<Bucket>,
    elapsed: Duration,
}

impl LoadReport {
    /// An empty report, for testing thresholds off the host.
    ///
    /// ```
    /// let report = scenarios_sdk::LoadReport::new("GET /ack at 10/s for 1 s", scenarios_sdk::secs(1));
    /// assert_eq!(report.sent(), 0);
    /// ```
    pub fn new(description: impl Into<String>, elapsed: Duration) -> Self {
        LoadReport {
            description: description.into(),
            sent: 0,
            statuses: Vec::new(),
            errors: Vec::new(),
            latency: [Duration::ZERO; 4],
            buckets: Vec::new(),
            elapsed,
        }
    }

    /// The same report with `count` more answers of `status` (and as many more sent).
    ///
    /// ```
    /// let report = scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).with_status(200, 5);
    /// assert_eq!(report.count(200), 5);
    /// ```
    pub fn with_status(mut self, status: u16, count: u64) -> Self {
        self.sent += count;
        match self.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += count,
            None => self.statuses.push((status, count)),
        }
        self.statuses.sort_unstable();
        self
    }

    /// The same report with `count` more transport errors of `kind` (and as many more sent).
    ///
    /// ```
    /// use scenarios_sdk::{LoadReport, TransportError, secs};
    ///
    /// let report = LoadReport::new("x", secs(1)).with_errors(TransportError::Refused, 3);
    /// assert_eq!(report.transport_errors(), 3);
    /// ```
    pub fn with_errors(mut self, kind: TransportError, count: u64) -> Self {
        self.sent += count;
        self.errors.push((kind, count));
        self
    }

    /// The same report with these latency percentiles.
    ///
    /// ```
    /// use scenarios_sdk::{LoadReport, ms, secs};
    ///
    /// let report = LoadReport::new("x", secs(1)).with_latencies(ms(1), ms(2), ms(3), ms(4));
    /// assert_eq!(report.p99(), ms(3));
    /// ```
    pub fn with_latencies(
        mut self,
        p50: Duration,
        p90: Duration,
        p99: Duration,
        max: Duration,
    ) -> Self {
        self.latency = [p50, p90, p99, max];
        self
    }

    /// What was asked, such as `POST /configure at 200/s for 10 s`.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).description(), "x");
    /// ```
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Requests sent.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).sent(), 0);
    /// ```
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Answers by status, ascending.
    ///
    /// ```
    /// let report = scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).with_status(503, 2);
    /// assert_eq!(report.statuses(), &[(503, 2)]);
    /// ```
    pub fn statuses(&self) -> &[(u16, u64)] {
        &self.statuses
    }

    /// How many answers had `status`.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).count(200), 0);
    /// ```
    pub fn count(&self, status: u16) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| *s == status)
            .map(|(_, n)| n)
            .sum()
    }

    /// Transport errors by kind.
    ///
    /// ```
    /// assert!(scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).errors().is_empty());
    /// ```
    pub fn errors(&self) -> &[(TransportError, u64)] {
        &self.errors
    }

    /// All transport errors.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).transport_errors(), 0);
    /// ```
    pub fn transport_errors(&self) -> u64 {
        self.errors.iter().map(|(_, n)| n).sum()
    }

    /// The share of requests, 0.0 to 1.0, that got a transport error or a 5xx status; 0.0
    /// when none was sent.
    ///
    /// ```
    /// let report = scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1))
    ///     .with_status(200, 3)
    ///     .with_status(502, 1);
    /// assert_eq!(report.error_rate(), 0.25);
    /// ```
    pub fn error_rate(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        let server: u64 = self
            .statuses
            .iter()
            .filter(|(s, _)| (500..600).contains(s))
            .map(|(_, n)| n)
            .sum();
        (server + self.transport_errors()) as f64 / self.sent as f64
    }

    /// The median latency of the answers.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).p50(), scenarios_sdk::Duration::ZERO);
    /// ```
    pub fn p50(&self) -> Duration {
        self.latency[0]
    }

    /// The 90th percentile latency of the answers.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).p90(), scenarios_sdk::Duration::ZERO);
    /// ```
    pub fn p90(&self) -> Duration {
        self.latency[1]
    }

    /// The 99th percentile latency of the answers.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).p99(), scenarios_sdk::Duration::ZERO);
    /// ```
    pub fn p99(&self) -> Duration {
        self.latency[2]
    }

    /// The slowest answer.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).max(), scenarios_sdk::Duration::ZERO);
    /// ```
    pub fn max(&self) -> Duration {
        self.latency[3]
    }

    /// Per-second buckets, in order.
    ///
    /// ```
    /// assert!(scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).buckets().is_empty());
    /// ```
    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// How long the load ran.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::LoadReport::new("x", scenarios_sdk::secs(1)).elapsed(), scenarios_sdk::secs(1));
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// `POST /configure at 200/s for 10 s, 2000 sent in 10.01 s`: the window, for messages.
    fn window(&self) -> String {
        format!(
            "{}, {} sent in {}",
            self.description,
            self.sent,
            Seconds(self.elapsed)
        )
    }
}

impl From<wit::LoadReport> for LoadReport {
    fn from(report: wit::LoadReport) -> Self {
        let d = Duration::from_nanos;
        LoadReport {
            description: report.description,
            sent: report.sent,
            statuses: report
                .statuses
                .into_iter()
                .map(|s| (s.status, s.count))
                .collect(),
            errors: report
                .errors
                .into_iter()
                .map(|e| {
                    let kind = match e.kind {
                        wit::TransportError::Refused => TransportError::Refused,
                        wit::TransportError::Reset => TransportError::Reset,
                        wit::TransportError::Timeout => TransportError::Timeout,
                        wit::TransportError::Other => TransportError::Other,
                    };
                    (kind, e.count)
                })
                .collect(),
            latency: [
                d(report.latency.p50),
                d(report.latency.p90),
                d(report.latency.p99),
                d(report.latency.max),
            ],
            buckets: report
                .buckets
                .into_iter()
                .map(|b| Bucket {
                    second: b.second,
                    count: b.count,
                    errors: b.errors,
                    p99: d(b.p99),
                })
                .collect(),
            elapsed: d(report.elapsed),
        }
    }
}

/// Expects the load's p99 latency to be at most `limit`.
///
/// ```
/// use scenarios_sdk::{LoadReport, expect_p99, ms, secs};
///
/// let report = LoadReport::new("POST /configure at 200/s for 10 s", secs(10))
///     .with_status(503, 2000)
///     .with_latencies(ms(2), ms(9), ms(73), ms(120));
/// assert_eq!(
///     expect_p99(&report, ms(50)).unwrap_err().message(),
///     "p99 latency 0.073 s, over the 0.050 s limit, for POST /configure at 200/s for 10 s, 2000 sent in 10.00 s"
/// );
/// ```
pub fn expect_p99(report: &LoadReport, limit: Duration) -> Result<(), Failure> {
    if report.p99() <= limit {
        return Ok(());
    }
    Err(Failure::new(format!(
        "p99 latency {:.3}, over the {:.3} limit, for {}",
        Seconds(report.p99()),
        Seconds(limit),
        report.window()
    ))
    .with_detail(format!(
        "p50 {:.3}, p90 {:.3}, max {:.3}",
        Seconds(report.p50()),
        Seconds(report.p90()),
        Seconds(report.max())
    )))
}

/// Expects the load's [error rate](LoadReport::error_rate) (transport errors and 5xx) to be
/// at most `max_rate`, a share from 0.0 to 1.0.
///
/// ```
/// use scenarios_sdk::{LoadReport, expect_error_rate, secs};
///
/// let report = LoadReport::new("GET /ack at 10/s for 1 s", secs(1)).with_status(200, 9).with_status(502, 1);
/// assert_eq!(
///     expect_error_rate(&report, 0.0).unwrap_err().message(),
///     "error rate 10.00 % (1 of 10), over the 0.00 % limit, for GET /ack at 10/s for 1 s, 10 sent in 1.00 s"
/// );
/// ```
pub fn expect_error_rate(report: &LoadReport, max_rate: f64) -> Result<(), Failure> {
    let rate = report.error_rate();
    if rate <= max_rate {
        return Ok(());
    }
    let failed = (rate * report.sent() as f64).round() as u64;
    Err(Failure::new(format!(
        "error rate {:.2} % ({failed} of {}), over the {:.2} % limit, for {}",
        rate * 100.0,
        report.sent(),
        max_rate * 100.0,
        report.window()
    ))
    .with_detail(breakdown(report)))
}

/// Expects no answer with a status in `statuses` other than those in `except`, such as no
/// 5xx but 503: `expect_no_status(&report, 500..=599, &[503])`.
///
/// ```
/// use scenarios_sdk::{LoadReport, expect_no_status, secs};
///
/// let report = LoadReport::new("POST /configure at 50/s for 20 s", secs(20))
///     .with_status(503, 990)
///     .with_status(500, 3)
///     .with_status(502, 7);
/// assert_eq!(
///     expect_no_status(&report, 500..=599, &[503]).unwrap_err().message(),
///     "10 answers with a status in 500..=599 other than 503 (500 ×3, 502 ×7), for POST /configure at 50/s for 20 s, 1000 sent in 20.00 s"
/// );
/// ```
pub fn expect_no_status(
    report: &LoadReport,
    statuses: RangeInclusive<u16>,
    except: &[u16],
) -> Result<(), Failure> {
    let found: Vec<(u16, u64)> = report
        .statuses()
        .iter()
        .copied()
        .filter(|(s, n)| statuses.contains(s) && !except.contains(s) && *n > 0)
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    let total: u64 = found.iter().map(|(_, n)| n).sum();
    let listed: Vec<String> = found.iter().map(|(s, n)| format!("{s} ×{n}")).collect();
    let other = if except.is_empty() {
        String::new()
    } else {
        let except: Vec<String> = except.iter().map(u16::to_string).collect();
        format!(" other than {}", except.join(", "))
    };
    Err(Failure::new(format!(
        "{total} answers with a status in {}..={}{other} ({}), for {}",
        statuses.start(),
        statuses.end(),
        listed.join(", "),
        report.window()
    ))
    .with_detail(breakdown(report)))
}

/// Every status and transport error of the load, one line.
fn breakdown(report: &LoadReport) -> String {
    let mut parts: Vec<String> = report
        .statuses()
        .iter()
        .map(|(s, n)| format!("{s} ×{n}"))
        .collect();
    parts.extend(report.errors().iter().map(|(k, n)| format!("{k} ×{n}")));
    format!("answers: {}", parts.join(", "))
}
