//! Network faults of Toxiproxy's kinds between a workload's clients and the workload:
//! [`Fault`] describes one, [`Workload::add_fault`](crate::Workload::add_fault) puts it in
//! place and returns a [`FaultGuard`] that can remove it early. The runner removes every
//! fault still in place at rollback, so a scenario need not.
//!
//! ```no_run
//! use scenarios_sdk::prelude::*;
//!
//! /// With 3 s of latency on MongoDB, a configure still answers within 5 s.
//! #[scenario(timeout = "60s")]
//! fn slow_mongodb() -> Outcome {
//!     require(&[Capability::FaultLatency])?;
//!     let slow = workload("mongodb").add_fault(Fault::latency(ms(3000)).jitter(ms(200)))?;
//!     let response = configure(&unique_task_id("slow"), payloads::historic())?;
//!     expect_within(&response, secs(5))?;
//!     slow.remove()?; // or leave it to the rollback
//!     Ok(())
//! }
//! # scenarios_sdk::export_scenarios!();
//! # fn main() {}
//! ```

use std::fmt;
use std::time::Duration;

use crate::bindings::focus::scenario::faults as wit;
use crate::error::host;
use crate::time::duration_to_nanos;
use crate::{HostError, Seconds};

/// Which bytes a fault acts on. The default is [`Downstream`](Direction::Downstream), as in
/// Toxiproxy.
///
/// ```
/// use scenarios_sdk::{Direction, Fault, ms};
///
/// let fault = Fault::latency(ms(100)).direction(Direction::Both);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// From the clients to the workload (requests).
    Upstream,
    /// From the workload to the clients (responses).
    #[default]
    Downstream,
    /// Both ways.
    Both,
}

/// What a fault does, with its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Latency {
        delay: Duration,
        jitter: Duration,
    },
    Bandwidth {
        bytes_per_second: u64,
    },
    Blackhole,
    ResetPeer {
        after: Duration,
    },
    SlowClose {
        delay: Duration,
    },
    Slicer {
        average: u32,
        variation: u32,
        delay: Duration,
    },
    LimitData {
        bytes: u64,
    },
}

/// One network fault: a kind, a [`Direction`] (downstream unless set) and a toxicity, the
/// share of connections it affects (100 % unless set). Build one with a constructor, then
/// adjust it.
///
/// ```
/// use scenarios_sdk::{Direction, Fault, ms};
///
/// let fault = Fault::latency(ms(3000)).jitter(ms(200)).toxicity(50).direction(Direction::Both);
/// assert_eq!(fault.to_string(), "latency 3000 ms ± 200 ms, both ways, on 50 % of connections");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    kind: Kind,
    direction: Direction,
    toxicity: u8,
}

impl Fault {
    fn of(kind: Kind) -> Self {
        Fault {
            kind,
            direction: Direction::Downstream,
            toxicity: 100,
        }
    }

    /// Adds `delay` to every chunk of data; add variation with [`jitter`](Self::jitter).
    ///
    /// ```
    /// let fault = scenarios_sdk::Fault::latency(scenarios_sdk::ms(500));
    /// ```
    pub fn latency(delay: Duration) -> Self {
        Self::of(Kind::Latency {
            delay,
            jitter: Duration::ZERO,
        })
    }

    /// Caps the throughput at `bytes_per_second`.
    ///
    /// ```
    /// let fault = scenarios_sdk::Fault::bandwidth(10_000); // 10 KB/s
    /// ```
    pub fn bandwidth(bytes_per_second: u64) -> Self {
        Self::of(Kind::Bandwidth { bytes_per_second })
    }

    /// Accepts and never answers: data is swallowed, clients time out.
    ///
    /// ```
    /// let fault = scenarios_sdk::Fault::blackhole();
    /// ```
    pub fn blackhole() -> Self {
        Self::of(Kind::Blackhole)
    }

    /// Resets connections once `after` has passed since they opened (at once for zero).
    ///
    /// ```
    /// let fault = scenarios_sdk::Fault::reset_peer(scenarios_sdk::Duration::ZERO);
    /// ```
    pub fn reset_peer(after: Duration) -> Self {
        Self::of(Kind::ResetPeer { after })
    }

    /// Passes a close on only after `delay`.
    ///
    /// ```
    /// let fault = scenarios_sdk::Fault::slow_close(scenarios_sdk::secs(2));
    /// ```
    pub fn slow_close(delay: Duration) -> Self {
        Self::of(Kind::SlowClose { delay })
    }

    /// Cuts data into pieces of `average_size` ± `size_variation` bytes, with `delay` between
    /// them.
    ///
    /// ```
    /// let fault = scenarios_sdk::Fault::slicer(64, 16, scenarios_sdk::ms(10));
    /// ```
    pub fn slicer(average_size: u32, size_variation: u32, delay: Duration) -> Self {
        Self::of(Kind::Slicer {
            average: average_size,
            variation: size_variation,
            delay,
        })
    }

    /// Closes a connection once `bytes` have passed through it.
    ///
    /// ```
    /// let fault = scenarios_sdk::Fault::limit_data(1024);
    /// ```
    pub fn limit_data(bytes: u64) -> Self {
        Self::of(Kind::LimitData { bytes })
    }

    /// Varies a [`latency`](Self::latency) by up to `jitter` either way; no effect on other
    /// kinds.
    ///
    /// ```
    /// use scenarios_sdk::{Fault, ms};
    ///
    /// let fault = Fault::latency(ms(3000)).jitter(ms(200));
    /// ```
    pub fn jitter(mut self, jitter: Duration) -> Self {
        if let Kind::Latency { delay, .. } = self.kind {
            self.kind = Kind::Latency { delay, jitter };
        }
        self
    }

    /// Which way the fault acts.
    ///
    /// ```
    /// use scenarios_sdk::{Direction, Fault};
    ///
    /// let fault = Fault::bandwidth(10_000).direction(Direction::Upstream);
    /// ```
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// The share of connections affected, in percent (0 to 100, decided per connection when it
    /// opens). Over 100 is refused by the host as [`HostError::Invalid`].
    ///
    /// ```
    /// let fault = scenarios_sdk::Fault::blackhole().toxicity(30);
    /// ```
    pub fn toxicity(mut self, percent: u8) -> Self {
        self.toxicity = percent;
        self
    }

    fn to_wit(self) -> wit::Fault {
        let kind = match self.kind {
            Kind::Latency { delay, jitter } => wit::FaultKind::Latency(wit::Latency {
                delay: duration_to_nanos(delay),
                jitter: duration_to_nanos(jitter),
            }),
            Kind::Bandwidth { bytes_per_second } => {
                wit::FaultKind::Bandwidth(wit::Bandwidth { bytes_per_second })
            }
            Kind::Blackhole => wit::FaultKind::Blackhole,
            Kind::ResetPeer { after } => wit::FaultKind::ResetPeer(wit::ResetPeer {
                after: duration_to_nanos(after),
            }),
            Kind::SlowClose { delay } => wit::FaultKind::SlowClose(wit::SlowClose {
                delay: duration_to_nanos(delay),
            }),
            Kind::Slicer {
                average,
                variation,
                delay,
            } => wit::FaultKind::Slicer(wit::Slicer {
                average_size: average,
                size_variation: variation,
                delay: duration_to_nanos(delay),
            }),
            Kind::LimitData { bytes } => wit::FaultKind::LimitData(wit::LimitData { bytes }),
        };
        wit::Fault {
            kind,
            direction: match self.direction {
                Direction::Upstream => wit::Direction::Upstream,
                Direction::Downstream => wit::Direction::Downstream,
                Direction::Both => wit::Direction::Both,
            },
            toxicity: self.toxicity,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_millis();
        match self.kind {
            Kind::Latency { delay, jitter } if jitter.is_zero() => {
                write!(f, "latency {} ms", ms(delay))
            }
            Kind::Latency { delay, jitter } => {
                write!(f, "latency {} ms ± {} ms", ms(delay), ms(jitter))
            }
            Kind::Bandwidth { bytes_per_second } => write!(f, "bandwidth {bytes_per_second} B/s"),
            Kind::Blackhole => write!(f, "blackhole"),
            Kind::ResetPeer { after } => write!(f, "reset-peer after {}", Seconds(after)),
            Kind::SlowClose { delay } => write!(f, "slow-close {}", Seconds(delay)),
            Kind::Slicer {
                average,
                variation,
                delay,
            } => write!(f, "slicer {average} ± {variation} B every {} ms", ms(delay)),
            Kind::LimitData { bytes } => write!(f, "limit-data {bytes} B"),
        }?;
        let direction = match self.direction {
            Direction::Upstream => "upstream",
            Direction::Downstream => "downstream",
            Direction::Both => "both ways",
        };
        write!(f, ", {direction}, on {} % of connections", self.toxicity)
    }
}

/// A fault in place, as [`Workload::add_fault`](crate::Workload::add_fault) returned it.
/// Dropping the guard leaves the fault in place until the rollback; [`remove`](Self::remove)
/// takes it away now.
///
/// ```no_run
/// use scenarios_sdk::{Fault, ms, workload};
///
/// let slow = workload("mongodb").add_fault(Fault::latency(ms(500))).unwrap();
/// // … measure under latency …
/// slow.remove().unwrap();
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard leaves the fault in place until the rollback; bind it to a name"]
pub struct FaultGuard {
    id: u64,
    description: String,
}

impl FaultGuard {
    /// What is in place, for messages: `latency 3000 ms, downstream, on 100 % of connections
    /// on mongodb`.
    ///
    /// ```no_run
    /// use scenarios_sdk::{Fault, workload};
    ///
    /// let guard = workload("mongodb").add_fault(Fault::blackhole()).unwrap();
    /// scenarios_sdk::info!("{}", guard.description());
    /// ```
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Removes the fault now. Removing it is not needed before the scenario ends.
    ///
    /// ```no_run
    /// use scenarios_sdk::{Fault, workload};
    ///
    /// workload("mongodb").add_fault(Fault::blackhole()).unwrap().remove().unwrap();
    /// ```
    pub fn remove(self) -> Result<(), HostError> {
        host(wit::remove_fault(self.id))
    }
}

/// Adds `fault` in front of `workload`; the body of
/// [`Workload::add_fault`](crate::Workload::add_fault).
pub(crate) fn add(workload: &str, fault: Fault) -> Result<FaultGuard, HostError> {
    let id = host(wit::add_fault(workload, fault.to_wit()))?;
    Ok(FaultGuard {
        id,
        description: format!("{fault} on {workload}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_only_changes_latency() {
        assert_eq!(
            Fault::blackhole().jitter(Duration::from_secs(1)),
            Fault::blackhole()
        );
        assert_eq!(
            Fault::latency(Duration::from_millis(5)).to_string(),
            "latency 5 ms, downstream, on 100 % of connections"
        );
    }

    #[test]
    fn the_contract_form_carries_every_figure() {
        let fault = Fault::slicer(64, 8, Duration::from_millis(3))
            .direction(Direction::Upstream)
            .toxicity(40)
            .to_wit();
        assert_eq!(fault.toxicity, 40);
        assert!(matches!(fault.direction, wit::Direction::Upstream));
        match fault.kind {
            wit::FaultKind::Slicer(s) => {
                assert_eq!(
                    (s.average_size, s.size_variation, s.delay),
                    (64, 8, 3_000_000)
                );
            }
            other => panic!("expected a slicer, got {other:?}"),
        }
    }
}
