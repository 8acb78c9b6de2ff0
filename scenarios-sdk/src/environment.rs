//! What the environment is and can do: [`environment`], [`Capability`] and [`require`].

use std::fmt;

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
}

impl Capability {
    /// Every capability, in the contract's order.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::Capability::ALL.len(), 5);
    /// ```
    pub const ALL: [Capability; 5] = [
        Capability::Scale,
        Capability::DeletePod,
        Capability::BlockBlackhole,
        Capability::BlockRefuse,
        Capability::Memory,
    ];

    fn flag(self) -> Capabilities {
        match self {
            Capability::Scale => Capabilities::SCALE,
            Capability::DeletePod => Capabilities::DELETE_POD,
            Capability::BlockBlackhole => Capabilities::BLOCK_BLACKHOLE,
            Capability::BlockRefuse => Capabilities::BLOCK_REFUSE,
            Capability::Memory => Capabilities::MEMORY,
        }
    }

    /// What the capability lets a scenario do, for skip reasons.
    fn what(self) -> &'static str {
        match self {
            Capability::Scale => "scale workloads",
            Capability::DeletePod => "delete and recreate pods",
            Capability::BlockBlackhole => "blackhole a workload's network",
            Capability::BlockRefuse => "refuse a workload's connections",
            Capability::Memory => "measure resident memory",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capability::Scale => "scale",
            Capability::DeletePod => "delete-pod",
            Capability::BlockBlackhole => "block-blackhole",
            Capability::BlockRefuse => "block-refuse",
            Capability::Memory => "memory",
        })
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

/// Describes the environment: its name, kind, capabilities and workloads.
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
    }
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
