//! Workloads and services: [`workload`] gives a [`Workload`] to scale, delete pods of, block
//! and measure; [`probe`] checks a service. Every mutation is journalled by the host and undone
//! after the scenario, whatever its outcome, so a scenario need not restore anything.

use std::time::Duration;

use crate::HostError;
use crate::bindings::focus::scenario::{services, workloads};
use crate::error::host;
use crate::time::duration_to_nanos;

/// How [`Workload::block_network`] cuts a workload off.
///
/// ```no_run
/// use scenarios_sdk::{BlockMode, workload};
///
/// workload("mongodb").block_network(BlockMode::Blackhole).unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockMode {
    /// Packets are dropped: clients time out, as with a Kubernetes NetworkPolicy.
    Blackhole,
    /// Connections are reset and refused: clients fail at once.
    Refuse,
}

impl From<BlockMode> for workloads::BlockMode {
    fn from(mode: BlockMode) -> Self {
        match mode {
            BlockMode::Blackhole => workloads::BlockMode::Blackhole,
            BlockMode::Refuse => workloads::BlockMode::Refuse,
        }
    }
}

/// One running instance of a workload.
///
/// ```no_run
/// for pod in scenarios_sdk::workload("mongodb").pods().unwrap() {
///     println!("{} ready={} restarts={}", pod.name, pod.ready, pod.restarts);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    /// The pod's name; a replacement gets a new one.
    pub name: String,
    /// Whether its readiness check passes now.
    pub ready: bool,
    /// How many times its process restarted in place.
    pub restarts: u32,
}

/// A deployment of the environment, such as `mongodb` or `focus-server`. Only workloads that
/// the environment's configuration declares can be touched; others give
/// [`HostError::NotPermitted`].
///
/// ```no_run
/// use scenarios_sdk::{Duration, Outcome, workload};
///
/// fn bounce() -> Outcome {
///     let mongodb = workload("mongodb");
///     mongodb.scale(0)?;
///     mongodb.scale(1)?;
///     mongodb.wait_ready(Duration::from_secs(30))?;
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Workload {
    name: String,
}

/// The workload called `name`. Nothing is checked until a method is called.
///
/// ```no_run
/// scenarios_sdk::workload("mongodb").scale(0).unwrap();
/// ```
pub fn workload(name: impl Into<String>) -> Workload {
    Workload { name: name.into() }
}

impl Workload {
    /// The workload's name.
    ///
    /// ```
    /// assert_eq!(scenarios_sdk::workload("mongodb").name(), "mongodb");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the desired replica count, as `kubectl scale` does. Returns once the change is
    /// accepted; use [`wait_ready`](Self::wait_ready) to wait for pods.
    ///
    /// ```no_run
    /// scenarios_sdk::workload("mongodb").scale(0).unwrap();
    /// ```
    pub fn scale(&self, replicas: u32) -> Result<(), HostError> {
        host(workloads::scale(&self.name, replicas))
    }

    /// The desired replica count.
    ///
    /// ```no_run
    /// let replicas = scenarios_sdk::workload("mongodb").replicas().unwrap();
    /// ```
    pub fn replicas(&self) -> Result<u32, HostError> {
        host(workloads::replicas(&self.name))
    }

    /// Deletes one ready pod (the oldest) and returns its name. The environment recreates it,
    /// as a ReplicaSet would, unless the workload is scaled to 0.
    ///
    /// ```no_run
    /// let gone = scenarios_sdk::workload("mongodb").delete_pod().unwrap();
    /// scenarios_sdk::info!("deleted {gone}");
    /// ```
    pub fn delete_pod(&self) -> Result<String, HostError> {
        host(workloads::delete_pod(&self.name))
    }

    /// The pods as they are now, oldest first.
    ///
    /// ```no_run
    /// let ready = scenarios_sdk::workload("mongodb").pods().unwrap().iter().filter(|p| p.ready).count();
    /// ```
    pub fn pods(&self) -> Result<Vec<Pod>, HostError> {
        let pods = host(workloads::pods(&self.name))?;
        Ok(pods
            .into_iter()
            .map(|p| Pod {
                name: p.name,
                ready: p.ready,
                restarts: p.restarts,
            })
            .collect())
    }

    /// Waits until the workload has its desired number of ready pods; a
    /// [`HostError::Timeout`] once `timeout` passes.
    ///
    /// ```no_run
    /// use scenarios_sdk::{Duration, workload};
    ///
    /// workload("mongodb").wait_ready(Duration::from_secs(30)).unwrap();
    /// ```
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), HostError> {
        host(workloads::wait_ready(
            &self.name,
            duration_to_nanos(timeout),
        ))
    }

    /// Cuts the workload off the network in `mode` until [`unblock_network`](Self::unblock_network)
    /// (or the runner's rollback).
    ///
    /// ```no_run
    /// use scenarios_sdk::{BlockMode, workload};
    ///
    /// workload("mongodb").block_network(BlockMode::Blackhole).unwrap();
    /// ```
    pub fn block_network(&self, mode: BlockMode) -> Result<(), HostError> {
        host(workloads::block_network(&self.name, mode.into()))
    }

    /// Lifts a block. Unblocking an unblocked workload is not an error.
    ///
    /// ```no_run
    /// scenarios_sdk::workload("mongodb").unblock_network().unwrap();
    /// ```
    pub fn unblock_network(&self) -> Result<(), HostError> {
        host(workloads::unblock_network(&self.name))
    }

    /// Puts `fault` between the workload's clients and the workload, after any faults already
    /// there, and returns a guard that can remove it early. The runner removes it at rollback
    /// otherwise. [`HostError::Unsupported`] (a skip) where the environment cannot do this
    /// kind; check with [`Capability`](crate::Capability) first to skip with a clearer reason.
    ///
    /// ```no_run
    /// use scenarios_sdk::{Fault, ms, workload};
    ///
    /// let slow = workload("mongodb")
    ///     .add_fault(Fault::latency(ms(3000)).jitter(ms(200)).toxicity(100))
    ///     .unwrap();
    /// ```
    pub fn add_fault(&self, fault: crate::Fault) -> Result<crate::FaultGuard, HostError> {
        crate::faults::add(&self.name, fault)
    }

    /// The resident memory of the workload's pods in bytes, summed; `None` when no pod runs.
    /// [`HostError::Unsupported`] where the environment cannot measure memory.
    ///
    /// ```no_run
    /// let bytes = scenarios_sdk::workload("focus-server").memory().unwrap();
    /// ```
    pub fn memory(&self) -> Result<Option<u64>, HostError> {
        host(workloads::memory(&self.name))
    }
}

/// What one probe of a service found.
///
/// ```no_run
/// let found = scenarios_sdk::probe("mongodb").unwrap();
/// println!("reachable={} in {:?}: {}", found.reachable(), found.latency(), found.detail());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    reachable: bool,
    latency: Duration,
    detail: String,
}

impl ProbeResult {
    /// Whether the service answered its health check (for MongoDB, a `ping`).
    ///
    /// ```no_run
    /// let up = scenarios_sdk::probe("mongodb").unwrap().reachable();
    /// ```
    pub fn reachable(&self) -> bool {
        self.reachable
    }

    /// How long the probe took, until an answer or until it gave up.
    ///
    /// ```no_run
    /// let latency = scenarios_sdk::probe("mongodb").unwrap().latency();
    /// ```
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// What was seen: the server's answer, or the client's error.
    ///
    /// ```no_run
    /// println!("{}", scenarios_sdk::probe("mongodb").unwrap().detail());
    /// ```
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// Probes `service` once with a short timeout (about 1 s). An unreachable service is an
/// `Ok` with [`reachable`](ProbeResult::reachable) false; an error means the probe could not run.
///
/// ```no_run
/// use scenarios_sdk::{Outcome, ensure, probe};
///
/// fn mongodb_is_down() -> Outcome {
///     let found = probe("mongodb")?;
///     ensure!(!found.reachable(), "mongodb still answers: {}", found.detail());
///     Ok(())
/// }
/// ```
pub fn probe(service: &str) -> Result<ProbeResult, HostError> {
    let found = host(services::probe(service))?;
    Ok(ProbeResult {
        reachable: found.reachable,
        latency: Duration::from_nanos(found.latency),
        detail: found.detail,
    })
}
