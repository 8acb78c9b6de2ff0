//! Environments: the world a scenario acts on. One trait, [`Environment`], and its backends:
//! [`local`] (supervised processes and fault-injecting proxies, the default), [`kube`] (a real
//! cluster through kube-rs) and [`memory`] (an in-process simulation for the engine's own tests).
//!
//! The engine never sees this module; only `host` knows both.

pub mod dry_run;
pub mod kube;
pub mod local;
pub mod memory;

use std::time::Duration;

use async_trait::async_trait;
pub use fault_proxy::{Direction, Fault, FaultId, FaultKind, next_id as next_fault_id};

/// Why an environment operation did not do what was asked. The cases mirror the contract's
/// `host-error`; each message names the operation, its target and what to try.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// The target is not declared in the configuration, or credentials do not allow it.
    #[error("not permitted: {0}")]
    NotPermitted(String),
    /// The target does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The environment cannot do this at all.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The operation did not finish within its deadline.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Anything else, with the underlying error.
    #[error("{0}")]
    Failed(String),
}

/// The result of an environment operation.
pub type EnvResult<T> = Result<T, EnvError>;

/// How `block_network` cuts a workload off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockMode {
    /// Drop packets: clients time out (a NetworkPolicy denying ingress).
    Blackhole,
    /// Reset open connections and refuse new ones: clients fail at once.
    Refuse,
}

/// One running instance of a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    /// Pod-like name; a replacement gets a new one.
    pub name: String,
    /// Whether its readiness check passes now.
    pub ready: bool,
    /// Restarts in place.
    pub restarts: u32,
}

/// What one probe of a service found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// Whether the service answered its health check.
    pub reachable: bool,
    /// How long the probe took.
    pub latency: Duration,
    /// The answer, or the client's error.
    pub detail: String,
}

/// What an environment can do; mirrors the contract's `capabilities` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `scale` works.
    pub scale: bool,
    /// `delete_pod` works and pods are recreated.
    pub delete_pod: bool,
    /// `block_network(Blackhole)` works.
    pub block_blackhole: bool,
    /// `block_network(Refuse)` works.
    pub block_refuse: bool,
    /// `memory` measures resident memory.
    pub memory: bool,
    /// `add_fault` works for every fault kind (the contract's `fault-*` flags).
    pub faults: bool,
    /// A load can run against the declared HTTP services, which are on this machine.
    pub load: bool,
    /// The Focus Server's data streams can be watched from this machine.
    pub watch_stream: bool,
}

impl Capabilities {
    /// Every capability: an environment that can do all the contract asks.
    pub const ALL: Self = Self {
        scale: true,
        delete_pod: true,
        block_blackhole: true,
        block_refuse: true,
        memory: true,
        faults: true,
        load: true,
        watch_stream: true,
    };
}

/// A description of an environment, for scenarios and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentInfo {
    /// Its name in `runner.toml`, such as `local`.
    pub name: String,
    /// `local`, `kubernetes` or `memory`.
    pub kind: &'static str,
    /// What it can do.
    pub capabilities: Capabilities,
    /// The workloads that may be touched: the allow-list.
    pub workloads: Vec<String>,
    /// The services that may be probed or, when declared as HTTP services, sent HTTP
    /// requests: the allow-list.
    pub services: Vec<String>,
}

/// One way the environment differs from its steady state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    /// The workload or object concerned.
    pub target: String,
    /// What is off, in one line: "1 of 1 replicas ready, 0 wanted", "network blocked (blackhole)".
    pub problem: String,
}

/// A dry run's answer to a request, by [`dry_run::SIMULATED_RULE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedAnswer {
    /// 200 or 503.
    pub status: u16,
    /// A JSON body that says it is simulated and, for a 503, why.
    pub body: String,
}

/// The last lines of one workload's logs, for a failed testcase's `<system-err>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    /// The workload, or pod, the lines come from.
    pub source: String,
    /// The lines, oldest first.
    pub lines: Vec<String>,
}

/// The world a scenario acts on. Implemented by `local`, `kube` and `memory`.
///
/// Every mutating operation must be undoable by another operation of this trait: the host
/// journals `scale` with the previous count, `block_network` with `unblock_network`, and
/// `delete_pod` with `wait_ready`. Implementations must be safe to call concurrently.
#[async_trait]
pub trait Environment: Send + Sync {
    /// Name, kind, capabilities and allow-lists.
    fn info(&self) -> EnvironmentInfo;

    /// The base URL of the Focus Server, such as `http://127.0.0.1:5000`, without a trailing `/`.
    fn focus_url(&self) -> String;

    /// The base URL of `service` when it is declared as an HTTP service, such as
    /// `http://127.0.0.1:5000`; `None` for any other name. Scenarios send HTTP requests only
    /// to these (contract 0.2's `http`).
    fn http_url(&self, service: &str) -> Option<String> {
        let _ = service;
        None
    }

    /// In a dry run, the answer every request to a service gets instead of being sent; `None`
    /// for every real backend, whose requests go over the network.
    async fn simulated_answer(&self) -> Option<SimulatedAnswer> {
        None
    }

    /// Sets the desired replica count of `workload`.
    async fn scale(&self, workload: &str, replicas: u32) -> EnvResult<()>;

    /// The desired replica count of `workload`.
    async fn replicas(&self, workload: &str) -> EnvResult<u32>;

    /// Deletes the oldest ready pod of `workload` and returns its name; it is recreated.
    async fn delete_pod(&self, workload: &str) -> EnvResult<String>;

    /// The pods of `workload`, oldest first.
    async fn pods(&self, workload: &str) -> EnvResult<Vec<Pod>>;

    /// Waits until `workload` has its desired number of ready pods.
    async fn wait_ready(&self, workload: &str, timeout: Duration) -> EnvResult<()>;

    /// Cuts `workload` off the network.
    async fn block_network(&self, workload: &str, mode: BlockMode) -> EnvResult<()>;

    /// Lifts a block; a no-op when there is none.
    async fn unblock_network(&self, workload: &str) -> EnvResult<()>;

    /// Adds a network fault in front of `workload` under `id` (from [`fault_proxy::next_id`],
    /// so that the host can journal it first), after those in place. The host checks the
    /// fault's values first ([`Fault::validate`]).
    async fn add_fault(&self, workload: &str, id: FaultId, fault: Fault) -> EnvResult<()> {
        let _ = id;
        Err(EnvError::Unsupported(format!(
            "the {} environment cannot put a {} fault in front of {workload}",
            self.info().kind,
            fault.kind.name()
        )))
    }

    /// Removes fault `id` from `workload`; `NotFound` when it is not in place.
    async fn remove_fault(&self, workload: &str, id: FaultId) -> EnvResult<()> {
        Err(EnvError::Unsupported(format!(
            "the {} environment has no fault {id} on {workload}: it cannot inject faults",
            self.info().kind
        )))
    }

    /// Resident bytes of `workload`'s pods, summed; `None` when no pod runs.
    async fn memory(&self, workload: &str) -> EnvResult<Option<u64>>;

    /// Probes `service` once with a short timeout.
    async fn probe(&self, service: &str) -> EnvResult<ProbeResult>;

    /// Every way the environment is off its steady state now: each workload at its declared
    /// replicas, all ready, nothing blocked. Empty means steady.
    async fn deviations(&self) -> EnvResult<Vec<Deviation>>;

    /// The last `lines` log lines of each workload, where the environment keeps logs.
    async fn log_tails(&self, lines: usize) -> Vec<LogTail> {
        let _ = lines;
        Vec::new()
    }

    /// Stops whatever the environment started. Called once, at the end of a run.
    async fn shutdown(&self) {}
}

/// What every backend gets when it is opened.
#[derive(Debug, Clone)]
pub struct OpenContext {
    /// The environment's name in `runner.toml`.
    pub name: String,
    /// This run's id, such as `20261124-154433-7f3a`; labels and annotations carry it.
    pub run_id: String,
    /// The folder `runner.toml` is in: relative paths in the configuration start there.
    pub config_dir: std::path::PathBuf,
    /// This run's own folder, `target/scenario-runs/<run-id>`, for logs and data.
    pub run_dir: std::path::PathBuf,
    /// Restore what an earlier, crashed run left changed before opening, instead of refusing
    /// to start (`run --force-cleanup`).
    pub force_cleanup: bool,
}

/// Opens the environment `config` describes: starts it (local) or connects to it (kubernetes).
/// Fails with a message that says what is missing and how to get it.
pub async fn open(
    config: &crate::config::EnvironmentConfig,
    ctx: &OpenContext,
) -> EnvResult<std::sync::Arc<dyn Environment>> {
    use crate::config::EnvironmentConfig;
    match config {
        EnvironmentConfig::Local(local) => local::open(local, ctx).await,
        EnvironmentConfig::Kubernetes(kube) => kube::open(kube, ctx).await,
        EnvironmentConfig::Memory(memory) => memory::open(memory, ctx).await,
    }
}
