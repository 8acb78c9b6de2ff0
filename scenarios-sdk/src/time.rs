//! Time on the host's clock: [`Instant`], [`now`], [`sleep`], [`Deadline`], polling with
//! [`wait_until`] / [`wait_for`], the wall clock ([`wall_clock`]) and the shorthands [`ms`]
//! and [`secs`].
//!
//! Durations are measured on the host's monotonic clock, so what a scenario measures matches
//! what the runner reports. The wall clock is only for payloads that carry real times.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

use crate::bindings::focus::scenario::runtime;
use crate::{Failure, Stop};

/// A point on the host's monotonic clock. Only differences between instants mean anything.
///
/// ```no_run
/// use scenarios_sdk::{Duration, Instant, sleep};
///
/// let start = Instant::now();
/// sleep(Duration::from_millis(100));
/// assert!(start.elapsed() >= Duration::from_millis(100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    nanos: u64,
}

impl Instant {
    /// The host's clock now.
    ///
    /// ```no_run
    /// let start = scenarios_sdk::Instant::now();
    /// ```
    pub fn now() -> Instant {
        Instant {
            nanos: runtime::now(),
        }
    }

    /// The time since this instant.
    ///
    /// ```no_run
    /// use scenarios_sdk::Instant;
    ///
    /// let start = Instant::now();
    /// println!("{:?}", start.elapsed());
    /// ```
    pub fn elapsed(self) -> Duration {
        Instant::now() - self
    }

    /// The time from `earlier` to this instant; zero if `earlier` is later.
    ///
    /// ```
    /// use scenarios_sdk::{Duration, Instant};
    ///
    /// let a = Instant::from_nanos(1_000);
    /// let b = a + Duration::from_nanos(500);
    /// assert_eq!(b.duration_since(a), Duration::from_nanos(500));
    /// assert_eq!(a.duration_since(b), Duration::ZERO);
    /// ```
    pub fn duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }

    /// The instant `nanos` nanoseconds after the clock's origin; for tests and for values that
    /// came through the contract.
    ///
    /// ```
    /// use scenarios_sdk::Instant;
    ///
    /// assert_eq!(Instant::from_nanos(7).as_nanos(), 7);
    /// ```
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant { nanos }
    }

    /// Nanoseconds since the clock's arbitrary origin.
    ///
    /// ```
    /// use scenarios_sdk::Instant;
    ///
    /// assert_eq!(Instant::from_nanos(42).as_nanos(), 42);
    /// ```
    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, rhs: Duration) -> Instant {
        Instant {
            nanos: self.nanos.saturating_add(duration_to_nanos(rhs)),
        }
    }
}

impl Sub for Instant {
    type Output = Duration;

    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

/// The host's monotonic clock now; the same as [`Instant::now`].
///
/// ```no_run
/// use scenarios_sdk::now;
///
/// let start = now();
/// // … act …
/// let took = now() - start;
/// ```
pub fn now() -> Instant {
    Instant::now()
}

/// Sleeps on the host for `duration`. The scenario's deadline still applies. Prefer
/// [`wait_until`] to sleeping for a condition.
///
/// ```no_run
/// use scenarios_sdk::{Duration, sleep};
///
/// sleep(Duration::from_secs(5)); // the ticket says "wait 5 s"
/// ```
pub fn sleep(duration: Duration) {
    runtime::sleep(duration_to_nanos(duration));
}

/// The wall clock: milliseconds since the Unix epoch, UTC, for payloads that carry real times
/// (such as a window over the last hour). Measure durations with [`now`], never with this.
///
/// ```no_run
/// use scenarios_sdk::{json, wall_clock};
///
/// let now_s = wall_clock() / 1000;
/// let last_hour = json!({"start_time": now_s - 3600, "end_time": now_s});
/// ```
pub fn wall_clock() -> u64 {
    runtime::wall_clock()
}

/// `n` milliseconds.
///
/// ```
/// assert_eq!(scenarios_sdk::ms(1500), scenarios_sdk::Duration::from_millis(1500));
/// ```
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds.
///
/// ```
/// assert_eq!(scenarios_sdk::secs(5), scenarios_sdk::Duration::from_secs(5));
/// ```
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A point in time to give up at, for loops that poll.
///
/// ```no_run
/// use scenarios_sdk::{Deadline, Duration, sleep};
///
/// let deadline = Deadline::after(Duration::from_secs(60));
/// while !deadline.passed() {
///     // … try something …
///     sleep(Duration::from_secs(1).min(deadline.remaining()));
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    start: Instant,
    at: Instant,
}

impl Deadline {
    /// The deadline `timeout` from now.
    ///
    /// ```no_run
    /// let deadline = scenarios_sdk::Deadline::after(scenarios_sdk::Duration::from_secs(10));
    /// ```
    pub fn after(timeout: Duration) -> Deadline {
        let start = Instant::now();
        Deadline {
            start,
            at: start + timeout,
        }
    }

    /// Whether the deadline has passed.
    ///
    /// ```no_run
    /// let deadline = scenarios_sdk::Deadline::after(scenarios_sdk::Duration::ZERO);
    /// assert!(deadline.passed());
    /// ```
    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The time left; zero once passed.
    ///
    /// ```no_run
    /// let deadline = scenarios_sdk::Deadline::after(scenarios_sdk::Duration::from_secs(3));
    /// println!("{:?} left", deadline.remaining());
    /// ```
    pub fn remaining(&self) -> Duration {
        self.at - Instant::now()
    }

    /// The time since the deadline was set.
    ///
    /// ```no_run
    /// let deadline = scenarios_sdk::Deadline::after(scenarios_sdk::Duration::from_secs(3));
    /// println!("{:?} spent", deadline.elapsed());
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The whole span the deadline was set for.
    ///
    /// ```no_run
    /// use scenarios_sdk::{Deadline, Duration};
    ///
    /// assert_eq!(Deadline::after(Duration::from_secs(3)).timeout(), Duration::from_secs(3));
    /// ```
    pub fn timeout(&self) -> Duration {
        self.at - self.start
    }
}

/// Polls `check` every `every` until it returns `Ok(true)`, and returns how long that took.
/// Gives up with a [`Failure`] ("gave up waiting for WHAT after 10.00 s (21 checks)") once
/// `timeout` passes. `check` may use `?` on host calls and assertions.
///
/// ```no_run
/// use scenarios_sdk::{Duration, Outcome, probe, wait_until, workload};
///
/// fn mongodb_goes_away() -> Outcome {
///     workload("mongodb").scale(0)?;
///     let took = wait_until(
///         "the mongodb probe to say unreachable",
///         Duration::from_secs(10),
///         Duration::from_millis(200),
///         || Ok(!probe("mongodb")?.reachable()),
///     )?;
///     scenarios_sdk::info!("mongodb unreachable after {took:?}");
///     Ok(())
/// }
/// ```
pub fn wait_until(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<bool, Stop>,
) -> Result<Duration, Stop> {
    let deadline = Deadline::after(timeout);
    wait_for(what, timeout, every, || Ok(check()?.then_some(())))?;
    Ok(deadline.elapsed())
}

/// Polls `check` every `every` until it returns `Ok(Some(value))`, and returns the value.
/// Gives up with a [`Failure`] once `timeout` passes. The last check runs at the deadline, so
/// a condition that comes true just in time is seen.
///
/// ```no_run
/// use scenarios_sdk::{Duration, Outcome, jobs, wait_for};
///
/// fn job_is_listed(task: &str) -> Outcome {
///     let job = wait_for("a job for the task", Duration::from_secs(5), Duration::from_millis(100), || {
///         Ok(jobs(task)?.into_iter().next())
///     })?;
///     scenarios_sdk::info!("job {} is {}", job.id(), job.state());
///     Ok(())
/// }
/// ```
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<Option<T>, Stop>,
) -> Result<T, Stop> {
    let deadline = Deadline::after(timeout);
    let mut checks = 0u32;
    loop {
        let last = deadline.passed();
        checks += 1;
        if let Some(value) = check()? {
            return Ok(value);
        }
        if last {
            return Err(Failure::new(format!(
                "gave up waiting for {what} after {} ({checks} checks)",
                Seconds(deadline.elapsed())
            ))
            .into());
        }
        sleep(every.min(deadline.remaining()));
    }
}

/// Formats a [`Duration`] as seconds with two decimals, such as `15.42 s`, as the SDK's
/// messages do. A duration under 5 ms that is not zero keeps up to six decimals instead, so
/// that a limit of `0.000001 s` does not read `0.00 s`.
///
/// ```
/// use scenarios_sdk::{Duration, Seconds};
///
/// assert_eq!(Seconds(Duration::from_millis(15_420)).to_string(), "15.42 s");
/// assert_eq!(format!("{:.3}", Seconds(Duration::from_millis(4))), "0.004 s");
/// assert_eq!(Seconds(Duration::from_micros(1)).to_string(), "0.000001 s");
/// assert_eq!(Seconds(Duration::from_micros(3_120)).to_string(), "0.00312 s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.as_secs_f64();
        match f.precision() {
            Some(precision) => write!(f, "{seconds:.precision$} s"),
            None if seconds > 0.0 && seconds < 0.005 => {
                let text = format!("{seconds:.6}");
                let text = text.trim_end_matches('0');
                let zero = if text.ends_with('.') { "0" } else { "" };
                write!(f, "{text}{zero} s")
            }
            None => write!(f, "{seconds:.2} s"),
        }
    }
}

/// A duration in the contract's nanoseconds, saturating at `u64::MAX` (584 years).
pub(crate) fn duration_to_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_subtract_saturating() {
        let a = Instant::from_nanos(10);
        assert_eq!(a - Instant::from_nanos(4), Duration::from_nanos(6));
        assert_eq!(Instant::from_nanos(4) - a, Duration::ZERO);
        assert_eq!((a + Duration::MAX).as_nanos(), u64::MAX);
    }

    #[test]
    fn seconds_round_to_two_decimals() {
        assert_eq!(Seconds(Duration::from_millis(5_000)).to_string(), "5.00 s");
        assert_eq!(
            Seconds(Duration::from_micros(15_419_600)).to_string(),
            "15.42 s"
        );
    }
}
