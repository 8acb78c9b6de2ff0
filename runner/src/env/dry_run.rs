//! `run --dry-run`: a simulation of a configured environment. It is the memory backend seeded
//! with the environment's declared workloads, replicas, services and capabilities; nothing is
//! started, connected to or sent over the network.
//!
//! What it simulates beyond the memory backend:
//! - **faults** are kept in memory per workload (`add-fault`, `remove-fault`);
//! - **requests to services** are answered by [`SIMULATED_RULE`], without a connection;
//! - **loads and stream watching** answer `unsupported`, because there is nothing to load or
//!   watch, so a scenario that needs them skips itself.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::memory::{MemoryConfig, MemoryEnvironment, MemoryWorkload};
use super::{
    BlockMode, Capabilities, Deviation, EnvError, EnvResult, Environment, EnvironmentInfo, Fault,
    FaultId, LogTail, OpenContext, Pod, ProbeResult, SimulatedAnswer,
};
use crate::config::EnvironmentConfig;

/// How a dry run answers a request to a service, as the output and the README say it.
pub const SIMULATED_RULE: &str = "a request to a service is answered 503 while any workload is \
    below its declared replicas, not ready, blocked or behind a fault, and 200 otherwise";

/// A simulation of one configured environment.
pub struct DryRunEnvironment {
    inner: MemoryEnvironment,
    kind: &'static str,
    capabilities: Capabilities,
    http_services: Vec<String>,
    faults: Mutex<BTreeMap<FaultId, String>>,
}

/// The simulation of `config`, named `ctx.name`.
pub fn open(config: &EnvironmentConfig, ctx: &OpenContext) -> EnvResult<Arc<dyn Environment>> {
    let (kind, workloads, services, http_services, capabilities) = seed(config);
    let memory = MemoryConfig {
        workloads: workloads
            .into_iter()
            .map(|(name, replicas)| {
                let workload = MemoryWorkload {
                    replicas,
                    initial_replicas: None,
                };
                (name, workload)
            })
            .collect(),
        services: Some(services),
        ..MemoryConfig::default()
    };
    Ok(Arc::new(DryRunEnvironment {
        inner: MemoryEnvironment::new(&memory, ctx)?,
        kind,
        capabilities: Capabilities {
            faults: capabilities.faults || kind == "local",
            load: false,
            watch_stream: false,
            ..capabilities
        },
        http_services,
        faults: Mutex::default(),
    }))
}

type Seed = (
    &'static str,
    Vec<(String, u32)>,
    Vec<String>,
    Vec<String>,
    Capabilities,
);

/// The kind, declared workloads with their replicas, services, HTTP services and capabilities
/// that `config`'s backend would have.
fn seed(config: &EnvironmentConfig) -> Seed {
    use super::local::config::Readiness;
    match config {
        EnvironmentConfig::Local(local) => {
            let names: Vec<String> = local.workloads.keys().cloned().collect();
            let http = local
                .workloads
                .iter()
                .filter(|(_, w)| matches!(w.readiness, Readiness::HttpGet { .. }))
                .map(|(name, _)| name.clone())
                .collect();
            let workloads = local
                .workloads
                .iter()
                .map(|(name, w)| (name.clone(), w.replicas))
                .collect();
            ("local", workloads, names, http, Capabilities::ALL)
        }
        EnvironmentConfig::Kubernetes(kube) => {
            let workloads = kube
                .workloads
                .iter()
                .map(|(name, w)| (name.clone(), w.replicas.unwrap_or(1)))
                .collect();
            let services = kube.services.keys().cloned().collect();
            let capabilities = Capabilities {
                block_refuse: false,
                memory: false,
                faults: false,
                load: false,
                watch_stream: false,
                ..Capabilities::ALL
            };
            let http = vec![kube.focus_service.clone()];
            ("kubernetes", workloads, services, http, capabilities)
        }
        EnvironmentConfig::Memory(memory) => {
            let workloads = memory
                .workloads
                .iter()
                .map(|(name, w)| (name.clone(), w.replicas))
                .collect();
            let mut services = memory
                .services
                .clone()
                .unwrap_or_else(|| memory.workloads.keys().cloned().collect());
            let http: Vec<String> = memory.http_services.keys().cloned().collect();
            services.extend(
                http.iter()
                    .filter(|s| !services.contains(s))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            let capabilities = Capabilities {
                faults: false,
                watch_stream: false,
                ..Capabilities::ALL
            };
            ("memory", workloads, services, http, capabilities)
        }
    }
}

impl DryRunEnvironment {
    fn check_workload(&self, workload: &str) -> EnvResult<()> {
        if self.inner.info().workloads.iter().any(|w| w == workload) {
            Ok(())
        } else {
            Err(EnvError::NotFound(format!(
                "no workload `{workload}` in the simulated environment"
            )))
        }
    }
}

#[async_trait]
impl Environment for DryRunEnvironment {
    fn info(&self) -> EnvironmentInfo {
        EnvironmentInfo {
            kind: self.kind,
            capabilities: self.capabilities,
            ..self.inner.info()
        }
    }

    /// No address: every request is answered by [`Environment::simulated_answer`].
    fn focus_url(&self) -> String {
        "http://dry-run.invalid".to_owned()
    }

    fn http_url(&self, service: &str) -> Option<String> {
        self.http_services
            .iter()
            .any(|s| s == service)
            .then(|| format!("http://{service}.dry-run.invalid"))
    }

    async fn simulated_answer(&self) -> Option<SimulatedAnswer> {
        let off = self.deviations().await.unwrap_or_default();
        Some(match off.first() {
            None => SimulatedAnswer {
                status: 200,
                body: r#"{"simulated": true}"#.to_owned(),
            },
            Some(first) => SimulatedAnswer {
                status: 503,
                body: serde_json::json!({
                    "simulated": true,
                    "error": format!("{}: {}", first.target, first.problem),
                })
                .to_string(),
            },
        })
    }

    async fn scale(&self, workload: &str, replicas: u32) -> EnvResult<()> {
        self.inner.scale(workload, replicas).await
    }

    async fn replicas(&self, workload: &str) -> EnvResult<u32> {
        self.inner.replicas(workload).await
    }

    async fn delete_pod(&self, workload: &str) -> EnvResult<String> {
        self.inner.delete_pod(workload).await
    }

    async fn pods(&self, workload: &str) -> EnvResult<Vec<Pod>> {
        self.inner.pods(workload).await
    }

    async fn wait_ready(&self, workload: &str, timeout: Duration) -> EnvResult<()> {
        self.inner.wait_ready(workload, timeout).await
    }

    async fn block_network(&self, workload: &str, mode: BlockMode) -> EnvResult<()> {
        self.inner.block_network(workload, mode).await
    }

    async fn unblock_network(&self, workload: &str) -> EnvResult<()> {
        self.inner.unblock_network(workload).await
    }

    async fn add_fault(&self, workload: &str, id: FaultId, fault: Fault) -> EnvResult<()> {
        if !self.capabilities.faults {
            return Err(EnvError::Unsupported(format!(
                "the {} environment cannot put a {} fault in front of {workload}",
                self.kind,
                fault.kind.name()
            )));
        }
        self.check_workload(workload)?;
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.insert(id, workload.to_owned());
        Ok(())
    }

    async fn remove_fault(&self, workload: &str, id: FaultId) -> EnvResult<()> {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        match faults.get(&id) {
            Some(on) if on == workload => {
                faults.remove(&id);
                Ok(())
            }
            _ => Err(EnvError::NotFound(format!(
                "no fault {id} is in front of {workload}"
            ))),
        }
    }

    async fn memory(&self, workload: &str) -> EnvResult<Option<u64>> {
        self.inner.memory(workload).await
    }

    async fn probe(&self, service: &str) -> EnvResult<ProbeResult> {
        self.inner.probe(service).await
    }

    async fn deviations(&self) -> EnvResult<Vec<Deviation>> {
        let mut off = self.inner.deviations().await?;
        let faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        off.extend(faults.iter().map(|(id, workload)| Deviation {
            target: workload.clone(),
            problem: format!("fault {id} in place"),
        }));
        Ok(off)
    }

    async fn log_tails(&self, lines: usize) -> Vec<LogTail> {
        self.inner.log_tails(lines).await
    }
}
