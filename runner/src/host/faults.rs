//! Contract 0.2's `faults` imports: a network fault put in front of a workload, checked and
//! journalled first like every other mutation, and removed at rollback unless the scenario
//! removed it itself.

use durations::Bounds;

use super::windows::WindowKey;
use super::{ScenarioHost, Undo, host_error};
use crate::engine::bindings::v0_2::focus::scenario::faults;
use crate::engine::bindings::v0_2::focus::scenario::types::{self, HostError};
use crate::env::{Direction, Fault, FaultKind, next_fault_id};
use crate::run::events::RemovedBy;

type HostResult<T> = wasmtime::Result<Result<T, HostError>>;

/// Why a contract fault cannot become an environment's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultConversionError {
    /// A duration of the fault is out of range.
    #[error("{kind} fault: {source}")]
    Duration {
        /// The fault kind, as the contract spells it.
        kind: &'static str,
        /// What is wrong with the duration.
        source: durations::DurationError,
    },
    /// A value is out of range ([`Fault::validate`]).
    #[error("{0}")]
    Invalid(#[from] fault_proxy::FaultError),
}

/// The contract's fault as the environment's, every value checked: durations within
/// [`durations::MAX`], then [`Fault::validate`].
pub fn fault_from_contract(fault: faults::Fault) -> Result<Fault, FaultConversionError> {
    let duration = |kind: &'static str, key: &str, nanos: types::Duration| {
        durations::from_nanos(key, nanos, Bounds::DELAY)
            .map_err(|source| FaultConversionError::Duration { kind, source })
    };
    let kind = match fault.kind {
        faults::FaultKind::Latency(l) => FaultKind::Latency {
            delay: duration("latency", "delay", l.delay)?,
            jitter: duration("latency", "jitter", l.jitter)?,
        },
        faults::FaultKind::Bandwidth(b) => FaultKind::Bandwidth {
            bytes_per_second: b.bytes_per_second,
        },
        faults::FaultKind::Blackhole => FaultKind::Blackhole,
        faults::FaultKind::ResetPeer(r) => FaultKind::ResetPeer {
            after: duration("reset-peer", "after", r.after)?,
        },
        faults::FaultKind::SlowClose(s) => FaultKind::SlowClose {
            delay: duration("slow-close", "delay", s.delay)?,
        },
        faults::FaultKind::Slicer(s) => FaultKind::Slicer {
            average_size: s.average_size,
            size_variation: s.size_variation,
            delay: duration("slicer", "delay", s.delay)?,
        },
        faults::FaultKind::LimitData(l) => FaultKind::LimitData { bytes: l.bytes },
    };
    let direction = match fault.direction {
        faults::Direction::Upstream => Direction::Upstream,
        faults::Direction::Downstream => Direction::Downstream,
        faults::Direction::Both => Direction::Both,
    };
    let fault = Fault::new(kind)
        .direction(direction)
        .toxicity(fault.toxicity);
    fault.validate()?;
    Ok(fault)
}

impl faults::Host for ScenarioHost {
    async fn add_fault(&mut self, workload: String, fault: faults::Fault) -> HostResult<u64> {
        let checked = self
            .refuse_in_hypothesis("add-fault")
            .and_then(|()| self.allow_workload(&workload))
            .and_then(|env| {
                let fault = fault_from_contract(fault)
                    .map_err(|e| HostError::Invalid(format!("add-fault on {workload}: {e}")))?;
                Ok((env, fault))
            });
        let (env, fault) = match checked {
            Ok(checked) => checked,
            Err(e) => return Ok(Err(e)),
        };
        let id = next_fault_id();
        let label = fault.to_string();
        let undo = Undo::RemoveFault {
            workload: workload.clone(),
            id,
            fault: label.clone(),
        };
        self.journal.push(undo.clone());
        let what = format!("add fault {id} ({label}) in front of {workload}");
        self.note("HOST", what.clone());
        let result = self
            .bounded(&what, self.limits.operation, async {
                env.add_fault(&workload, id, fault)
                    .await
                    .map_err(host_error)
            })
            .await?;
        match result {
            Ok(()) => {
                let label = format!("{label} on {workload}");
                let key = WindowKey::Fault(id);
                self.windows.open(&self.events, key, &workload, label);
                Ok(Ok(id))
            }
            // Refused, so not in place: nothing to undo. (A timeout keeps its undo, which
            // counts a fault that never arrived as already removed.)
            Err(
                e @ (HostError::Unsupported(_) | HostError::Invalid(_) | HostError::NotFound(_)),
            ) => {
                self.journal.forget(&undo);
                Ok(Err(e))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    async fn remove_fault(&mut self, id: faults::FaultId) -> HostResult<()> {
        if let Err(e) = self.refuse_in_hypothesis("remove-fault") {
            return Ok(Err(e));
        }
        let Some(undo) = self.journal.fault(id).cloned() else {
            return Ok(Err(HostError::NotFound(format!(
                "no fault {id} is in place: it was removed already, or not added by this scenario"
            ))));
        };
        let Undo::RemoveFault { workload, .. } = &undo else {
            unreachable!("Journal::fault returns only RemoveFault entries");
        };
        let env = match self.allow_workload(workload) {
            Ok(env) => env,
            Err(e) => return Ok(Err(e)),
        };
        let what = format!("remove fault {id} from {workload}");
        self.note("HOST", what.clone());
        let result = self
            .bounded(&what, self.limits.operation, async {
                env.remove_fault(workload, id).await.map_err(host_error)
            })
            .await?;
        if result.is_ok() {
            self.journal.forget(&undo);
            let key = WindowKey::Fault(id);
            self.windows.close(&self.events, &key, RemovedBy::Scenario);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn contract(kind: faults::FaultKind) -> faults::Fault {
        faults::Fault {
            kind,
            direction: faults::Direction::Downstream,
            toxicity: 100,
        }
    }

    #[test]
    fn every_kind_converts_with_its_values() {
        let ms = |n: u64| n * 1_000_000;
        let cases = [
            (
                faults::FaultKind::Latency(faults::Latency {
                    delay: ms(500),
                    jitter: ms(20),
                }),
                FaultKind::Latency {
                    delay: Duration::from_millis(500),
                    jitter: Duration::from_millis(20),
                },
            ),
            (
                faults::FaultKind::Bandwidth(faults::Bandwidth {
                    bytes_per_second: 1024,
                }),
                FaultKind::Bandwidth {
                    bytes_per_second: 1024,
                },
            ),
            (faults::FaultKind::Blackhole, FaultKind::Blackhole),
            (
                faults::FaultKind::ResetPeer(faults::ResetPeer { after: 0 }),
                FaultKind::ResetPeer {
                    after: Duration::ZERO,
                },
            ),
            (
                faults::FaultKind::SlowClose(faults::SlowClose { delay: ms(7) }),
                FaultKind::SlowClose {
                    delay: Duration::from_millis(7),
                },
            ),
            (
                faults::FaultKind::Slicer(faults::Slicer {
                    average_size: 64,
                    size_variation: 8,
                    delay: ms(1),
                }),
                FaultKind::Slicer {
                    average_size: 64,
                    size_variation: 8,
                    delay: Duration::from_millis(1),
                },
            ),
            (
                faults::FaultKind::LimitData(faults::LimitData { bytes: 10 }),
                FaultKind::LimitData { bytes: 10 },
            ),
        ];
        for (given, expected) in cases {
            let fault = fault_from_contract(contract(given)).unwrap();
            assert_eq!(fault.kind, expected);
            assert_eq!(fault.direction, Direction::Downstream);
            assert_eq!(fault.toxicity, 100);
        }
        let mut both = contract(faults::FaultKind::Blackhole);
        both.direction = faults::Direction::Both;
        both.toxicity = 40;
        let fault = fault_from_contract(both).unwrap();
        assert_eq!((fault.direction, fault.toxicity), (Direction::Both, 40));
    }

    #[test]
    fn out_of_range_values_are_refused_without_a_panic() {
        let too_long = contract(faults::FaultKind::Latency(faults::Latency {
            delay: u64::MAX,
            jitter: 0,
        }));
        let e = fault_from_contract(too_long).unwrap_err().to_string();
        assert!(e.contains("latency") && e.contains("too long"), "{e}");
        // Within the project's bounds but past the proxy's own 24 h limit.
        let two_days = contract(faults::FaultKind::SlowClose(faults::SlowClose {
            delay: 48 * 3600 * 1_000_000_000,
        }));
        let e = fault_from_contract(two_days).unwrap_err().to_string();
        assert!(e.contains("24 h limit"), "{e}");
        let mut toxic = contract(faults::FaultKind::Blackhole);
        toxic.toxicity = 101;
        let e = fault_from_contract(toxic).unwrap_err().to_string();
        assert!(e.contains("toxicity 101"), "{e}");
        let zero_rate = contract(faults::FaultKind::Bandwidth(faults::Bandwidth {
            bytes_per_second: 0,
        }));
        assert!(fault_from_contract(zero_rate).is_err());
    }
}
