//! What the environment is and can do: [`environment`], [`Capability`] and [`require`]; the
//! run's id ([`run_id`]) and task ids unique across a run ([`unique_task_id`]).

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::bindings::focus::scenario::runtime::{self, Capabilities};
use crate::{Outcome, Stop};

/// Something an environment may or may not be able to do. A scenario checks it with
/// [`require`] and skips itself where it is missing, instead of passing vacuously.
///
/// ```no_run
/// use scenarios_sdk::{Capability, environment};
///
/// if environment().supports(Capability::Memory) {
///     // measure memory
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Workloads can be scaled.
    Scale,
    /// Pods can be deleted, and the environment recreates them.
    DeletePod,
    /// The network to a workload can be blocked in [`BlockMode::Blackhole`](crate::BlockMode).
    BlockBlackhole,
    /// The network to a workload can be blocked in [`BlockMode::Refuse`](crate::BlockMode).
    BlockRefuse,
    /// Resident memory of a workload can be measured.
    Memory,
    /// The [`Fault::latency`](crate::Fault::latency) fault works.
    FaultLatency,
    /// The [`Fault::bandwidth`](crate::Fault::bandwidth) fault works.
    FaultBandwidth,
    /// The [`Fault::blackhole`](crate::Fault::blackhole) fault works.
    FaultBlackhole,
    /// The [`Fault::reset_peer`](crate::Fault::reset_peer) fault works.
    FaultResetPeer,
    /// The [`Fault::slow_close`](crate::Fault::slow_close) fault works.
    FaultSlowClose,
    /// The [`Fault::slicer`](crate::Fault::slicer) fault works.
    FaultSlicer,
    /// The [`Fault::limit_data`](crate::Fault::limit_data) fault works.
    FaultLimitData,
    /// Background load ([`Load`](crate::Load)) works.
    Load,
    /// [`watch_stream`](crate::watch_stream) works.
    WatchStream,
}

impl Capability {
    /// Every capability, in the contract's order.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::Capability::ALL.len(), 14);
    /// ```
    pub const ALL: [Capability; 14] = [
        Capability::Scale,
        Capability::DeletePod,
        Capability::BlockBlackhole,
        Capability::BlockRefuse,
        Capability::Memory,
        Capability::FaultLatency,
        Capability::FaultBandwidth,
        Capability::FaultBlackhole,
        Capability::FaultResetPeer,
        Capability::FaultSlowClose,
        Capability::FaultSlicer,
        Capability::FaultLimitData,
        Capability::Load,
        Capability::WatchStream,
    ];

    /// The contract's flag, its name there, and what it lets a scenario do (for skip reasons).
    fn describe(self) -> (Capabilities, &'static str, &'static str) {
        match self {
            Capability::Scale => (Capabilities::SCALE, "scale", "scale workloads"),
            Capability::DeletePod => (
                Capabilities::DELETE_POD,
                "delete-pod",
                "delete and recreate pods",
            ),
            Capability::BlockBlackhole => (
                Capabilities::BLOCK_BLACKHOLE,
                "block-blackhole",
                "blackhole a workload's network",
            ),
            Capability::BlockRefuse => (
                Capabilities::BLOCK_REFUSE,
                "block-refuse",
                "refuse a workload's connections",
            ),
            Capability::Memory => (Capabilities::MEMORY, "memory", "measure resident memory"),
            Capability::FaultLatency => (
                Capabilities::FAULT_LATENCY,
                "fault-latency",
                "add latency to a workload's traffic",
            ),
            Capability::FaultBandwidth => (
                Capabilities::FAULT_BANDWIDTH,
                "fault-bandwidth",
                "cap a workload's bandwidth",
            ),
            Capability::FaultBlackhole => (
                Capabilities::FAULT_BLACKHOLE,
                "fault-blackhole",
                "swallow a workload's traffic",
            ),
            Capability::FaultResetPeer => (
                Capabilities::FAULT_RESET_PEER,
                "fault-reset-peer",
                "reset a workload's connections",
            ),
            Capability::FaultSlowClose => (
                Capabilities::FAULT_SLOW_CLOSE,
                "fault-slow-close",
                "delay a workload's connection closes",
            ),
            Capability::FaultSlicer => (
                Capabilities::FAULT_SLICER,
                "fault-slicer",
                "slice a workload's traffic",
            ),
            Capability::FaultLimitData => (
                Capabilities::FAULT_LIMIT_DATA,
                "fault-limit-data",
                "cut a workload's connections after some bytes",
            ),
            Capability::Load => (Capabilities::LOAD, "load", "run background load"),
            Capability::WatchStream => (
                Capabilities::WATCH_STREAM,
                "watch-stream",
                "watch a job's data stream",
            ),
        }
    }

    fn flag(self) -> Capabilities {
        self.describe().0
    }

    fn what(self) -> &'static str {
        self.describe().2
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe().1)
    }
}

/// The environment the scenario runs against.
///
/// ```no_run
/// let env = scenarios_sdk::environment();
/// scenarios_sdk::info!("running on {} ({}), workloads {:?}", env.name(), env.kind(), env.workloads());
/// ```
#[derive(Debug, Clone)]
pub struct Environment {
    name: String,
    kind: String,
    capabilities: Capabilities,
    workloads: Vec<String>,
    services: Vec<String>,
    run_id: String,
}

impl Environment {
    /// Its name in the runner's configuration, such as `local`.
    ///
    /// ```no_run
    /// println!("{}", scenarios_sdk::environment().name());
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its kind: `local`, `kubernetes` or `memory`.
    ///
    /// ```no_run
    /// let on_cluster = scenarios_sdk::environment().kind() == "kubernetes";
    /// ```
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The workloads a scenario may touch, such as `mongodb` and `focus-server`.
    ///
    /// ```no_run
    /// for name in scenarios_sdk::environment().workloads() {
    ///     scenarios_sdk::workload(name).wait_ready(scenarios_sdk::Duration::from_secs(5)).unwrap();
    /// }
    /// ```
    pub fn workloads(&self) -> &[String] {
        &self.workloads
    }

    /// The services a scenario may probe or send HTTP requests to, such as `focus-server`.
    ///
    /// ```no_run
    /// let http = scenarios_sdk::environment().services().iter().any(|s| s == "focus-server");
    /// ```
    pub fn services(&self) -> &[String] {
        &self.services
    }

    /// This run's id, the same for every scenario of the run, such as `20261201-113000-7f3a`.
    ///
    /// ```no_run
    /// println!("{}", scenarios_sdk::environment().run_id());
    /// ```
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Whether the environment has `capability`.
    ///
    /// ```no_run
    /// use scenarios_sdk::{Capability, environment};
    ///
    /// let can_block = environment().supports(Capability::BlockBlackhole);
    /// ```
    pub fn supports(&self, capability: Capability) -> bool {
        self.capabilities.contains(capability.flag())
    }

    /// Every capability the environment has.
    ///
    /// ```no_run
    /// println!("{:?}", scenarios_sdk::environment().capabilities());
    /// ```
    pub fn capabilities(&self) -> Vec<Capability> {
        Capability::ALL
            .into_iter()
            .filter(|c| self.supports(*c))
            .collect()
    }

    /// `Ok` when the environment has `capability`; otherwise a [`Stop::Skipped`] whose reason
    /// names the environment and what it cannot do.
    ///
    /// ```no_run
    /// use scenarios_sdk::{Capability, Outcome, environment};
    ///
    /// fn needs_memory() -> Outcome {
    ///     environment().require(Capability::Memory)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn require(&self, capability: Capability) -> Outcome {
        if self.supports(capability) {
            Ok(())
        } else {
            Err(Stop::Skipped(format!(
                "environment `{}` ({}) cannot {} (capability `{capability}`)",
                self.name,
                self.kind,
                capability.what()
            )))
        }
    }

    /// `Ok` when `workload` is one the scenario may touch; otherwise a [`Stop::Skipped`].
    ///
    /// ```no_run
    /// use scenarios_sdk::{Outcome, environment};
    ///
    /// fn needs_mongodb() -> Outcome {
    ///     environment().require_workload("mongodb")?;
    ///     Ok(())
    /// }
    /// ```
    pub fn require_workload(&self, workload: &str) -> Outcome {
        if self.workloads.iter().any(|w| w == workload) {
            Ok(())
        } else {
            Err(Stop::Skipped(format!(
                "environment `{}` declares no workload `{workload}` (it has: {})",
                self.name,
                self.workloads.join(", ")
            )))
        }
    }
}

/// Describes the environment: its name, kind, capabilities, workloads, services and run id.
///
/// ```no_run
/// let env = scenarios_sdk::environment();
/// ```
pub fn environment() -> Environment {
    let env = runtime::environment();
    Environment {
        name: env.name,
        kind: env.kind,
        capabilities: env.capabilities,
        workloads: env.workloads,
        services: env.services,
        run_id: env.run_id,
    }
}

/// This run's id, the same for every scenario of the run; see [`Environment::run_id`].
///
/// ```no_run
/// scenarios_sdk::info!("run {}", scenarios_sdk::run_id());
/// ```
pub fn run_id() -> String {
    runtime::environment().run_id
}

/// A task id that no other scenario of the run, nor of another run, uses:
/// `PREFIX-RUNID-MILLIS-N`, from the run id, the wall clock in milliseconds (hexadecimal)
/// and a counter of this scenario's calls. `jobs(task)` then sees only this scenario's jobs.
///
/// ```no_run
/// let task = scenarios_sdk::unique_task_id("failover");
/// // failover-20261201-113000-7f3a-19ad1f0c2e1-0
/// ```
pub fn unique_task_id(prefix: &str) -> String {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    task_id_from(prefix, &run_id(), crate::wall_clock(), n)
}

fn task_id_from(prefix: &str, run: &str, millis: u64, n: u32) -> String {
    format!("{prefix}-{run}-{millis:x}-{n}")
}

/// Skips the scenario unless the environment has every capability in `capabilities`; the
/// reason names the first that is missing.
///
/// ```no_run
/// use scenarios_sdk::{Capability, Outcome, require};
///
/// fn pod_deletion() -> Outcome {
///     require(&[Capability::Scale, Capability::DeletePod])?;
///     Ok(())
/// }
/// ```
pub fn require(capabilities: &[Capability]) -> Outcome {
    let env = environment();
    capabilities.iter().try_for_each(|c| env.require(*c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_differ_by_run_clock_and_counter() {
        let a = task_id_from("failover", "r1", 0x19a, 0);
        assert_eq!(a, "failover-r1-19a-0");
        assert_ne!(a, task_id_from("failover", "r2", 0x19a, 0));
        assert_ne!(a, task_id_from("failover", "r1", 0x19b, 0));
        assert_ne!(a, task_id_from("failover", "r1", 0x19a, 1));
    }

    #[test]
    fn every_capability_has_its_own_flag_and_name() {
        let flags: std::collections::HashSet<_> =
            Capability::ALL.iter().map(|c| c.flag().bits()).collect();
        let names: std::collections::HashSet<_> =
            Capability::ALL.iter().map(|c| c.to_string()).collect();
        assert_eq!(flags.len(), Capability::ALL.len());
        assert_eq!(names.len(), Capability::ALL.len());
    }
}
