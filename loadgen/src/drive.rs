//! The driver: one task that schedules the requests of a load and collects their outcomes.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::classify::TransportError;
use crate::record::{Counts, LoadReport, Outcome, Recorder};
use crate::spec::{Extent, Limits, LoadError, LoadSpec, Pace, RequestTemplate};

/// A running load. Dropping it stops the load.
#[derive(Debug)]
pub struct Load {
    description: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<LoadReport>,
}

impl Load {
    /// Checks `spec` against `limits` and starts it on `client` (see [`crate::client`]).
    /// Must be called within a tokio runtime.
    pub fn start(
        client: &reqwest::Client,
        spec: LoadSpec,
        limits: &Limits,
    ) -> Result<Self, LoadError> {
        spec.validate(limits)?;
        let description = spec.to_string();
        let (stop, stopped) = watch::channel(false);
        let driver = Driver {
            client: client.clone(),
            spec,
            limits: *limits,
            stopped,
        };
        let task = tokio::spawn(driver.run());
        Ok(Self {
            description,
            stop,
            task,
        })
    }

    /// What was asked, such as `POST /configure at 200/s for 10 s`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether the load has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the load now: no more requests start, and those in flight are abandoned.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Waits for the load to end and returns its report.
    pub async fn finish(mut self) -> LoadReport {
        let description = self.description.clone();
        match (&mut self.task).await {
            Ok(report) => report,
            // The driver panicked or was aborted: an empty report that says so.
            Err(e) => LoadReport {
                description: format!("{description} (the load's driver failed: {e})"),
                sent: 0,
                dropped: 0,
                abandoned: 0,
                statuses: Default::default(),
                errors: Default::default(),
                latency: Default::default(),
                buckets: Vec::new(),
                elapsed: Duration::ZERO,
                stopped: true,
            },
        }
    }

    /// Stops the load and returns its report.
    pub async fn stop_and_finish(self) -> LoadReport {
        self.stop();
        self.finish().await
    }
}

struct Driver {
    client: reqwest::Client,
    spec: LoadSpec,
    limits: Limits,
    stopped: watch::Receiver<bool>,
}

impl Driver {
    async fn run(mut self) -> LoadReport {
        let started = Instant::now();
        let mut recorder = Recorder::new(started);
        let mut counts = Counts::default();
        let (ends_at, max_count) = match self.spec.extent {
            Extent::Duration(d) => (started.checked_add(d), u64::MAX),
            Extent::Count(n) => (None, n),
        };
        // Requests stop starting at the extent's end; the load stops whole at the deadline.
        let ends_at = [ends_at, self.limits.deadline].into_iter().flatten().min();
        let mut in_flight = FuturesUnordered::new();
        let mut schedule = Schedule::new(started, self.spec.pace);
        loop {
            let now = Instant::now();
            let sending =
                counts.sent + counts.dropped < max_count && ends_at.is_none_or(|t| now < t);
            if let Pace::Concurrency(n) = self.spec.pace {
                while sending && in_flight.len() < n as usize && counts.sent < max_count {
                    in_flight.push(send(self.client.clone(), &self.spec.request));
                    counts.sent += 1;
                }
            }
            if !sending && in_flight.is_empty() {
                break;
            }
            let next_due = schedule.next_due().filter(|_| sending);
            tokio::select! {
                biased;
                _ = self.stopped.changed() => {
                    counts.stopped = true;
                    break;
                }
                () = sleep_until(self.limits.deadline) => {
                    counts.stopped = true;
                    break;
                }
                () = sleep_until(next_due) => {
                    let now = Instant::now();
                    while counts.sent + counts.dropped < max_count && schedule.take_due(now) {
                        if in_flight.len() < self.limits.max_in_flight as usize {
                            in_flight.push(send(self.client.clone(), &self.spec.request));
                            counts.sent += 1;
                        } else {
                            counts.dropped += 1;
                        }
                    }
                }
                Some(outcome) = in_flight.next(), if !in_flight.is_empty() => recorder.record(outcome),
                () = sleep_until(ends_at.filter(|_| sending)) => {}
            }
        }
        counts.abandoned = in_flight.len() as u64;
        let description = self.spec.to_string();
        recorder.finish(description, counts, started.elapsed())
    }
}

/// The open model's schedule: request `i` is due at `start + i / rate`, computed from `i` so
/// that rounding never drifts; a late timer sends every request due at once.
struct Schedule {
    start: Instant,
    rate: Option<u32>,
    next: u64,
}

impl Schedule {
    fn new(start: Instant, pace: Pace) -> Self {
        let rate = match pace {
            Pace::Rate(r) => Some(r),
            Pace::Concurrency(_) => None,
        };
        Self {
            start,
            rate,
            next: 0,
        }
    }

    fn next_due(&self) -> Option<Instant> {
        let rate = u128::from(self.rate?);
        let nanos = u128::from(self.next) * 1_000_000_000 / rate;
        self.start
            .checked_add(Duration::from_nanos(u64::try_from(nanos).ok()?))
    }

    /// Takes the next request if it is due by `now`.
    fn take_due(&mut self, now: Instant) -> bool {
        let due = self.next_due().is_some_and(|t| t <= now);
        self.next += u64::from(due);
        due
    }
}

/// Sends one request and reads its whole answer; the outcome carries when it ended.
fn send(
    client: reqwest::Client,
    request: &RequestTemplate,
) -> impl Future<Output = Outcome> + use<> {
    let builder = client
        .request(request.method.clone(), request.url.clone())
        .headers(request.headers.clone())
        .body(request.body.clone())
        .timeout(request.timeout);
    async move {
        let started = Instant::now();
        let result = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            response.bytes().await?;
            Ok::<_, reqwest::Error>(status)
        }
        .await;
        let ended = Instant::now();
        let result = result
            .map(|status| (status, ended - started))
            .map_err(|e| TransportError::of(&e));
        (ended, result)
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "drive_tests.rs"]
mod tests;
