//! The local environment, the embedded default: each workload is a Deployment of supervised
//! processes on this machine (a real MongoDB-wire server, the Focus Server) behind a Service,
//! a small TCP proxy on a stable `127.0.0.1` port that also injects the network faults.
//!
//! How the Kubernetes behaviours are reproduced:
//! - scaled to 0: the service has no ready pod, so nothing listens and connections are refused;
//! - a deleted pod: SIGTERM to its process group, SIGKILL after `stop_grace`; the replacement is
//!   created at once under a new name and starts after `recreate_delay` (the start-up window);
//! - a NetworkPolicy that drops: the proxy accepts but never answers, and stalls existing
//!   connections, so clients time out; `refuse` resets them and refuses new ones instead;
//! - a PersistentVolume: `{data_dir}` survives pod deletion and scale-down within a run, and is
//!   held by one pod at a time; a graceful shutdown removes it (the logs stay).

pub mod config;
mod deployment;
mod logs;
mod names;
mod pod;
mod pod_lifecycle;
mod probe;
mod proc_memory;
mod programs;
mod proxy;
mod spawner;
pub mod status;
mod template;
mod watchdog;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

pub use config::{Builtin, LocalConfig, Readiness, WorkloadConfig};
pub use spawner::kill_all as kill_all_pods;

use self::deployment::Deployment;
use self::pod::PodTemplate;
use self::proxy::Service;
use self::status::{EnvStatus, StatusServer, WorkloadStatus};
use super::{
    BlockMode, Capabilities, Deviation, EnvError, EnvResult, Environment, EnvironmentInfo, Fault,
    FaultId, LogTail, OpenContext, Pod, ProbeResult,
};

/// The lines of each workload's log kept in memory.
const RING_LINES: usize = 1000;
/// How long a probe of a service waits.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// A pod that crashes this often while the environment starts fails the start.
const STARTUP_CRASHES: u32 = 2;

/// Starts the local environment and waits until every workload is ready.
pub async fn open(config: &LocalConfig, ctx: &OpenContext) -> EnvResult<Arc<dyn Environment>> {
    Ok(Arc::new(LocalEnvironment::start(config, ctx).await?))
}

/// The running local environment. Dropping it kills every pod; [`Environment::shutdown`] stops
/// them gracefully.
#[derive(Debug)]
pub struct LocalEnvironment {
    name: String,
    focus_workload: String,
    deployments: BTreeMap<String, Arc<Deployment>>,
    status_server: Mutex<Option<StatusServer>>,
    /// `<run_dir>/data`: the volumes, removed after a graceful shutdown (the logs stay).
    data_dir: std::path::PathBuf,
}

impl LocalEnvironment {
    /// Checks the configuration, finds the programs, reserves the service ports, starts the
    /// pods and waits until all are ready. Every error names what is wrong and what to do.
    pub async fn start(config: &LocalConfig, ctx: &OpenContext) -> EnvResult<Self> {
        let key = |workload: &str, field: &str| {
            format!("environments.{}.workloads.{workload}.{field}", ctx.name)
        };
        config.validate(&ctx.name).map_err(EnvError::Failed)?;
        let services: BTreeMap<String, u16> = config
            .workloads
            .iter()
            .map(|(name, w)| (name.clone(), w.service_port))
            .collect();
        let mut templates = Vec::new();
        for (name, workload) in &config.workloads {
            let command = programs::resolve_command(name, workload, &ctx.config_dir)?;
            let mut exes = BTreeMap::new();
            for exe in command.exes() {
                let path = programs::find_exe(exe, std::env::var_os("PATH").as_ref())
                    .map_err(|e| EnvError::Failed(format!("workload {name}: {e}")))?;
                exes.insert(exe.to_owned(), path);
            }
            templates.push((name, workload, command, exes));
        }
        let mut reserved = Vec::new();
        for (name, workload, ..) in &templates {
            let service = Service::reserve(workload.service_port, &key(name, "service_port"))
                .map_err(EnvError::Failed)?;
            reserved.push(service);
        }
        let logs_dir = ctx.run_dir.join("logs");
        std::fs::create_dir_all(&logs_dir).map_err(|e| io_failure("create", &logs_dir, e))?;
        let mut deployments = BTreeMap::new();
        for ((name, workload, command, exes), service) in templates.into_iter().zip(reserved) {
            let data_dir = ctx.run_dir.join("data").join(name);
            if command.uses_data_dir() {
                std::fs::create_dir_all(&data_dir)
                    .map_err(|e| io_failure("create", &data_dir, e))?;
            }
            let template = PodTemplate {
                workload: name.clone(),
                template_hash: names::template_hash(&[&ctx.run_id, name, &format!("{command:?}")]),
                volume: command
                    .uses_data_dir()
                    .then(|| Arc::new(tokio::sync::Mutex::new(()))),
                command,
                env: workload.env.clone(),
                readiness: workload.readiness.clone(),
                stop_grace: workload.stop_grace,
                run_id: ctx.run_id.clone(),
                work_dir: ctx.run_dir.clone(),
                data_dir,
                services: services.clone(),
                exes,
                log: logs::WorkloadLog::new(&logs_dir, RING_LINES),
            };
            let deployment = Deployment::new(
                workload.replicas,
                workload.recreate_delay,
                template,
                service,
            );
            deployments.insert(name.clone(), deployment);
        }
        let env = Self {
            name: ctx.name.clone(),
            focus_workload: config.focus_workload.clone(),
            deployments,
            status_server: Mutex::new(None),
            data_dir: ctx.run_dir.join("data"),
        };
        for (name, workload) in &config.workloads {
            env.deployments[name].scale(workload.replicas)?;
        }
        if let Err(e) = env.wait_started(config.startup_timeout).await {
            env.shutdown().await;
            return Err(e);
        }
        env.serve_status(ctx);
        Ok(env)
    }

    /// Waits for every workload, failing early when a pod keeps crashing.
    async fn wait_started(&self, timeout: Duration) -> EnvResult<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(d) = self
                .deployments
                .values()
                .find(|d| d.max_restarts() >= STARTUP_CRASHES)
            {
                return Err(self.start_failure(d, "keeps crashing"));
            }
            let Some(waiting) = self.deployments.values().find(|d| !d.is_ready()) else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                return Err(
                    self.start_failure(waiting, &format!("was not ready within {timeout:?}"))
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn start_failure(&self, d: &Deployment, what: &str) -> EnvError {
        let tail = d.log_tail(40);
        let log = if tail.is_empty() {
            String::new()
        } else {
            format!("; its last log lines:\n  {}", tail.join("\n  "))
        };
        EnvError::Failed(format!(
            "the local environment '{}' did not start: workload {} {what}: {}{log}",
            self.name,
            d.name(),
            d.readiness_summary()
        ))
    }

    fn serve_status(&self, ctx: &OpenContext) {
        let (name, run_id, run_dir, focus_url) = (
            self.name.clone(),
            ctx.run_id.clone(),
            ctx.run_dir.clone(),
            self.focus_url(),
        );
        let deployments: Vec<Arc<Deployment>> = self.deployments.values().cloned().collect();
        let snapshot = move || EnvStatus {
            environment: name.clone(),
            run_id: run_id.clone(),
            pid: std::process::id(),
            run_dir: run_dir.clone(),
            focus_url: focus_url.clone(),
            workloads: deployments.iter().map(|d| WorkloadStatus::of(d)).collect(),
        };
        match StatusServer::start(&ctx.run_dir, snapshot) {
            Ok(server) => {
                *self.status_server.lock().unwrap_or_else(|e| e.into_inner()) = Some(server)
            }
            Err(e) => tracing::warn!(
                "`env status` will not see this run: cannot serve its status in {}: {e}",
                ctx.run_dir.display()
            ),
        }
    }

    /// The address of `workload`'s service.
    pub fn service_addr(&self, workload: &str) -> Option<SocketAddr> {
        self.deployments
            .get(workload)
            .map(|d| SocketAddr::from(([127, 0, 0, 1], d.service_port())))
    }

    fn deployment(&self, workload: &str) -> EnvResult<&Arc<Deployment>> {
        self.deployments.get(workload).ok_or_else(|| {
            let known = self
                .deployments
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            EnvError::NotPermitted(format!(
                "workload '{workload}' is not declared in environments.{}; it declares: {known}",
                self.name
            ))
        })
    }
}

impl Drop for LocalEnvironment {
    fn drop(&mut self) {
        self.deployments.values().for_each(|d| d.kill_now());
    }
}

fn io_failure(what: &str, path: &std::path::Path, e: std::io::Error) -> EnvError {
    EnvError::Failed(format!("cannot {what} {}: {e}", path.display()))
}

#[async_trait]
impl Environment for LocalEnvironment {
    fn info(&self) -> EnvironmentInfo {
        let names: Vec<String> = self.deployments.keys().cloned().collect();
        EnvironmentInfo {
            name: self.name.clone(),
            kind: "local",
            capabilities: Capabilities::ALL,
            workloads: names.clone(),
            services: names,
        }
    }

    fn focus_url(&self) -> String {
        match self.service_addr(&self.focus_workload) {
            Some(addr) => format!("http://{addr}"),
            // No such workload: a URL that fails with a message naming the cause.
            None => format!(
                "http://{}-is-not-a-workload-of-{}.invalid",
                self.focus_workload, self.name
            ),
        }
    }

    /// A workload whose readiness is `http GET …` serves HTTP: its service is an HTTP service.
    fn http_url(&self, service: &str) -> Option<String> {
        let deployment = self.deployments.get(service)?;
        matches!(deployment.readiness(), config::Readiness::HttpGet { .. })
            .then(|| format!("http://127.0.0.1:{}", deployment.service_port()))
    }

    async fn scale(&self, workload: &str, replicas: u32) -> EnvResult<()> {
        self.deployment(workload)?.scale(replicas)
    }

    async fn replicas(&self, workload: &str) -> EnvResult<u32> {
        Ok(self.deployment(workload)?.replicas())
    }

    async fn delete_pod(&self, workload: &str) -> EnvResult<String> {
        self.deployment(workload)?.delete_pod()
    }

    async fn pods(&self, workload: &str) -> EnvResult<Vec<Pod>> {
        Ok(self.deployment(workload)?.pods())
    }

    async fn wait_ready(&self, workload: &str, timeout: Duration) -> EnvResult<()> {
        self.deployment(workload)?.wait_ready(timeout).await
    }

    async fn block_network(&self, workload: &str, mode: BlockMode) -> EnvResult<()> {
        self.deployment(workload)?.block(mode);
        Ok(())
    }

    async fn unblock_network(&self, workload: &str) -> EnvResult<()> {
        self.deployment(workload)?.unblock();
        Ok(())
    }

    async fn memory(&self, workload: &str) -> EnvResult<Option<u64>> {
        Ok(self.deployment(workload)?.memory())
    }

    async fn add_fault(&self, workload: &str, id: FaultId, fault: Fault) -> EnvResult<()> {
        let deployment = self.deployment(workload)?;
        deployment.add_fault(id, fault).map_err(|e| {
            EnvError::Failed(format!("cannot add a fault in front of {workload}: {e}"))
        })
    }

    async fn remove_fault(&self, workload: &str, id: FaultId) -> EnvResult<()> {
        match self.deployment(workload)?.remove_fault(id) {
            Ok(_) => Ok(()),
            Err(e) => Err(EnvError::NotFound(format!("{workload}: {e}"))),
        }
    }

    async fn probe(&self, service: &str) -> EnvResult<ProbeResult> {
        let d = self.deployment(service)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], d.service_port()));
        Ok(probe::check(d.readiness(), addr, PROBE_TIMEOUT).await)
    }

    async fn deviations(&self) -> EnvResult<Vec<Deviation>> {
        Ok(self
            .deployments
            .values()
            .flat_map(|d| d.deviations())
            .collect())
    }

    async fn log_tails(&self, lines: usize) -> Vec<LogTail> {
        self.deployments
            .values()
            .map(|d| LogTail {
                source: d.name().to_owned(),
                lines: d.log_tail(lines),
            })
            .filter(|t| !t.lines.is_empty())
            .collect()
    }

    async fn shutdown(&self) {
        self.status_server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        futures::future::join_all(self.deployments.values().map(|d| d.shutdown())).await;
        // Every pod is gone: nothing uses the volumes any more.
        let _ = tokio::fs::remove_dir_all(&self.data_dir).await;
    }
}
