//! What a fault is: its kind, the way it acts, and the share of connections it affects.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The longest delay, jitter or wait a fault may ask for. Anything longer is refused as
/// invalid rather than risk an overflowing clock.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Which bytes a fault acts on. As JSON: `"upstream"`, `"downstream"` or `"both"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the clients to the server (requests).
    Upstream,
    /// From the server to the clients (responses).
    Downstream,
    /// Both ways.
    Both,
}

impl Direction {
    /// Whether a fault of this direction acts on the lane going `lane`.
    pub fn covers(self, lane: Direction) -> bool {
        self == Direction::Both || self == lane
    }

    fn name(self) -> &'static str {
        match self {
            Direction::Upstream => "upstream",
            Direction::Downstream => "downstream",
            Direction::Both => "both ways",
        }
    }
}

/// What a fault does. As JSON, tagged by the contract's name, durations as serde spells them:
/// `{"type": "latency", "delay": {"secs": 3, "nanos": 0}, "jitter": {"secs": 0, "nanos": 0}}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultKind {
    /// Every chunk of data waits `delay`, plus or minus up to `jitter` (uniformly).
    Latency {
        /// The delay.
        delay: Duration,
        /// The most the delay varies either way.
        jitter: Duration,
    },
    /// Throughput is capped at `bytes_per_second`.
    Bandwidth {
        /// Bytes per second, more than 0.
        bytes_per_second: u64,
    },
    /// Data stops moving and is held; connections stay open, so clients time out.
    Blackhole,
    /// Connections are reset (TCP RST) once `after` has passed since they opened.
    ResetPeer {
        /// How long a connection lives before it is reset; 0 resets at once.
        after: Duration,
    },
    /// When the sending side closes, the close is passed on only after `delay`.
    SlowClose {
        /// The delay of the close.
        delay: Duration,
    },
    /// Data is cut into pieces of `average_size` ± `size_variation` bytes, `delay` apart.
    Slicer {
        /// The mean size of a piece, more than 0.
        average_size: u32,
        /// The most a piece's size varies either way; less than `average_size`.
        size_variation: u32,
        /// The pause between two pieces.
        delay: Duration,
    },
    /// The connection is closed once `bytes` have passed through it this way.
    LimitData {
        /// How many bytes may pass.
        bytes: u64,
    },
}

impl FaultKind {
    /// The kind's name as the contract spells it: `latency`, `reset-peer`, …
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Latency { .. } => "latency",
            FaultKind::Bandwidth { .. } => "bandwidth",
            FaultKind::Blackhole => "blackhole",
            FaultKind::ResetPeer { .. } => "reset-peer",
            FaultKind::SlowClose { .. } => "slow-close",
            FaultKind::Slicer { .. } => "slicer",
            FaultKind::LimitData { .. } => "limit-data",
        }
    }
}

/// One fault: what it does, which way, and to what share of connections. As JSON (the proxy
/// subcommand's control API): `{"kind": {...}, "direction": "both", "toxicity": 100}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What it does.
    pub kind: FaultKind,
    /// Which way it acts.
    pub direction: Direction,
    /// The share of connections it affects, in percent, 0 to 100.
    pub toxicity: u8,
}

impl Fault {
    /// A fault of `kind` acting both ways on every connection.
    pub fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            direction: Direction::Both,
            toxicity: 100,
        }
    }

    /// The same fault acting only `direction`.
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// The same fault affecting `percent` of the connections.
    pub fn toxicity(mut self, percent: u8) -> Self {
        self.toxicity = percent;
        self
    }

    /// Checks every value is in range, so that the pipeline never sees an absurd one.
    pub fn validate(&self) -> Result<(), FaultError> {
        let invalid =
            |what: String| Err(FaultError::Invalid(format!("{}: {what}", self.kind.name())));
        if self.toxicity > 100 {
            return invalid(format!("toxicity {} % is over 100 %", self.toxicity));
        }
        let waits: &[(&str, Duration)] = match &self.kind {
            FaultKind::Latency { delay, jitter } => &[("delay", *delay), ("jitter", *jitter)],
            FaultKind::ResetPeer { after } => &[("after", *after)],
            FaultKind::SlowClose { delay } => &[("delay", *delay)],
            FaultKind::Slicer { delay, .. } => &[("delay", *delay)],
            _ => &[],
        };
        if let Some((name, wait)) = waits.iter().find(|(_, w)| *w > MAX_WAIT) {
            return invalid(format!(
                "{name} of {} s is over the {} h limit",
                wait.as_secs(),
                MAX_WAIT.as_secs() / 3600
            ));
        }
        match self.kind {
            FaultKind::Bandwidth {
                bytes_per_second: 0,
            } => invalid("a rate of 0 bytes/s would stop the data: use blackhole for that".into()),
            FaultKind::Slicer {
                average_size: 0, ..
            } => invalid("the average piece size must be more than 0 bytes".into()),
            FaultKind::Slicer {
                average_size,
                size_variation,
                ..
            } if size_variation >= average_size => invalid(format!(
                "the size variation ({size_variation} bytes) must be less than the average size ({average_size} bytes)"
            )),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Fault {
    /// For example `latency 3000 ms ± 200 ms, downstream, 100 %`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
        match &self.kind {
            FaultKind::Latency { delay, jitter } if jitter.is_zero() => {
                write!(f, "latency {:.0} ms", ms(delay))?
            }
            FaultKind::Latency { delay, jitter } => {
                write!(f, "latency {:.0} ms ± {:.0} ms", ms(delay), ms(jitter))?
            }
            FaultKind::Bandwidth { bytes_per_second } => {
                write!(f, "bandwidth {bytes_per_second} bytes/s")?
            }
            FaultKind::Blackhole => write!(f, "blackhole")?,
            FaultKind::ResetPeer { after } => write!(f, "reset-peer after {:.0} ms", ms(after))?,
            FaultKind::SlowClose { delay } => write!(f, "slow-close {:.0} ms", ms(delay))?,
            FaultKind::Slicer {
                average_size,
                size_variation,
                delay,
            } => write!(
                f,
                "slicer {average_size} ± {size_variation} bytes every {:.0} ms",
                ms(delay)
            )?,
            FaultKind::LimitData { bytes } => write!(f, "limit-data {bytes} bytes")?,
        }
        write!(f, ", {}, {} %", self.direction.name(), self.toxicity)
    }
}

/// A fault in place, by the id it was given.
pub type FaultId = u64;

/// A new fault id, unique in this process: callers that must record a fault before adding it
/// (a rollback journal) take one here and add the fault with [`crate::FaultTable::insert`].
pub fn next_id() -> FaultId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A fault in place, with its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ActiveFault {
    /// Its id, unique in this process.
    pub id: FaultId,
    /// The fault.
    pub fault: Fault,
}

/// Why a fault could not be added or removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// A value is out of range.
    #[error("invalid fault {0}")]
    Invalid(String),
    /// No fault with this id is in place.
    #[error("no fault {0} is in place (already removed, or never added here)")]
    NotFound(FaultId),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_is_spelled_as_json_by_its_contract_name_and_unknown_fields_are_refused() {
        let fault = Fault::new(FaultKind::ResetPeer {
            after: Duration::from_millis(1500),
        })
        .direction(Direction::Downstream)
        .toxicity(40);
        let text = serde_json::to_string(&fault).unwrap();
        assert_eq!(
            text,
            r#"{"kind":{"type":"reset-peer","after":{"secs":1,"nanos":500000000}},"direction":"downstream","toxicity":40}"#
        );
        assert_eq!(serde_json::from_str::<Fault>(&text).unwrap(), fault);
        let extra = text.replace(r#""toxicity":40"#, r#""toxicity":40,"x":1"#);
        assert!(serde_json::from_str::<Fault>(&extra).is_err());
        let inner = text.replace(r#""after""#, r#""afterr""#);
        assert!(serde_json::from_str::<Fault>(&inner).is_err());
    }

    #[test]
    fn values_out_of_range_are_refused_with_the_value_named() {
        let cases = [
            (
                Fault::new(FaultKind::Blackhole).toxicity(101),
                "toxicity 101 %",
            ),
            (
                Fault::new(FaultKind::Bandwidth {
                    bytes_per_second: 0,
                }),
                "rate of 0 bytes/s",
            ),
            (
                Fault::new(FaultKind::Slicer {
                    average_size: 10,
                    size_variation: 10,
                    delay: Duration::ZERO,
                }),
                "size variation (10 bytes)",
            ),
            (
                Fault::new(FaultKind::Latency {
                    delay: Duration::MAX,
                    jitter: Duration::ZERO,
                }),
                "delay of",
            ),
        ];
        for (fault, expected) in cases {
            let message = fault.validate().unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
        }
        Fault::new(FaultKind::Latency {
            delay: MAX_WAIT,
            jitter: MAX_WAIT,
        })
        .toxicity(100)
        .validate()
        .unwrap();
    }

    #[test]
    fn a_fault_reads_as_its_kind_values_direction_and_toxicity() {
        let fault = Fault::new(FaultKind::Latency {
            delay: Duration::from_secs(3),
            jitter: Duration::from_millis(200),
        })
        .direction(Direction::Downstream)
        .toxicity(50);
        assert_eq!(
            fault.to_string(),
            "latency 3000 ms ± 200 ms, downstream, 50 %"
        );
        assert!(Direction::Both.covers(Direction::Upstream));
        assert!(!Direction::Downstream.covers(Direction::Upstream));
    }
}
