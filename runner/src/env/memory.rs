//! An in-process simulated environment, for the runner's own tests and benchmarks: workloads
//! with replicas, pods and network blocks held in memory. It is not a real environment and
//! touches nothing outside the process, except the optional journal file.
//!
//! ```toml
//! [environments.sim]
//! kind = "memory"
//! startup_ms = 0                      # how long a new pod takes to become ready
//! journal_file = "target/sim.jsonl"   # every operation, one JSON line each (optional)
//! focus_url = "http://127.0.0.1:5000" # where `configure` and `get` go (optional)
//! [environments.sim.http_services]     # services scenarios may send HTTP to, by base URL
//! focus-server = "http://127.0.0.1:5000"
//! [environments.sim.workloads.mongodb]
//! replicas = 1                        # the declared (steady-state) count
//! initial_replicas = 1                # the count at start, to test a broken steady state
//! ```

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Deserialize;

use super::{
    BlockMode, Capabilities, Deviation, EnvError, EnvResult, Environment, EnvironmentInfo, LogTail,
    OpenContext, Pod, ProbeResult,
};

/// `[environments.<name>]` with `kind = "memory"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    /// The workloads, by name.
    #[serde(default)]
    pub workloads: BTreeMap<String, MemoryWorkload>,
    /// The services that may be probed; the workload names when not given.
    pub services: Option<Vec<String>>,
    /// How long a new pod takes to become ready, in milliseconds.
    #[serde(default)]
    pub startup_ms: u64,
    /// A file to append every operation to, as JSON lines; relative to `runner.toml`'s folder.
    pub journal_file: Option<PathBuf>,
    /// The Focus Server's base URL; a closed port when not given.
    pub focus_url: Option<String>,
    /// The HTTP services, by name, with their base URLs; they are services too.
    #[serde(default)]
    pub http_services: BTreeMap<String, String>,
}

/// One simulated workload.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryWorkload {
    /// The declared replica count: its steady state.
    #[serde(default = "one")]
    pub replicas: u32,
    /// The count at start; the declared count when not given.
    pub initial_replicas: Option<u32>,
}

fn one() -> u32 {
    1
}

struct SimPod {
    name: String,
    born: Instant,
    restarts: u32,
}

struct SimWorkload {
    declared: u32,
    desired: u32,
    pods: Vec<SimPod>,
    block: Option<BlockMode>,
    log: Vec<String>,
}

struct State {
    workloads: BTreeMap<String, SimWorkload>,
    next_pod: u64,
    journal: Option<std::fs::File>,
}

/// The simulated environment.
pub struct MemoryEnvironment {
    name: String,
    services: Vec<String>,
    http_services: BTreeMap<String, String>,
    startup: Duration,
    focus_url: String,
    state: Mutex<State>,
}

/// Creates the simulated environment.
pub async fn open(config: &MemoryConfig, ctx: &OpenContext) -> EnvResult<Arc<dyn Environment>> {
    Ok(Arc::new(MemoryEnvironment::new(config, ctx)?))
}

impl MemoryEnvironment {
    /// A simulation of `config`, every workload at its initial count with ready pods.
    pub fn new(config: &MemoryConfig, ctx: &OpenContext) -> EnvResult<Self> {
        let journal = match &config.journal_file {
            Some(path) => {
                let path = ctx.config_dir.join(path);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        EnvError::Failed(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| {
                        EnvError::Failed(format!(
                            "cannot open the journal file {}: {e}",
                            path.display()
                        ))
                    })?;
                Some(file)
            }
            None => None,
        };
        let ready_long_ago = Instant::now()
            .checked_sub(Duration::from_millis(config.startup_ms))
            .unwrap_or_else(Instant::now);
        let mut state = State {
            workloads: BTreeMap::new(),
            next_pod: 1,
            journal,
        };
        for (name, w) in &config.workloads {
            let count = w.initial_replicas.unwrap_or(w.replicas);
            let mut workload = SimWorkload {
                declared: w.replicas,
                desired: count,
                pods: Vec::new(),
                block: None,
                log: Vec::new(),
            };
            for _ in 0..count {
                let pod = state.new_pod_name(name);
                workload.pods.push(SimPod {
                    name: pod,
                    born: ready_long_ago,
                    restarts: 0,
                });
            }
            state.workloads.insert(name.clone(), workload);
        }
        let mut services = config
            .services
            .clone()
            .unwrap_or_else(|| config.workloads.keys().cloned().collect());
        for name in config.http_services.keys() {
            if !services.contains(name) {
                services.push(name.clone());
            }
        }
        Ok(Self {
            name: ctx.name.clone(),
            services,
            http_services: config.http_services.clone(),
            startup: Duration::from_millis(config.startup_ms),
            focus_url: config
                .focus_url
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1:9".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            state: Mutex::new(state),
        })
    }

    fn with<T>(
        &self,
        workload: &str,
        f: impl FnOnce(&mut State, &str) -> EnvResult<T>,
    ) -> EnvResult<T> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !state.workloads.contains_key(workload) {
            return Err(EnvError::NotFound(format!(
                "no workload `{workload}` in the memory environment"
            )));
        }
        f(&mut state, workload)
    }

    fn ready_count(&self, w: &SimWorkload) -> usize {
        w.pods
            .iter()
            .filter(|p| p.born.elapsed() >= self.startup)
            .count()
    }
}

impl State {
    fn new_pod_name(&mut self, workload: &str) -> String {
        let n = self.next_pod;
        self.next_pod += 1;
        format!("{workload}-{n}")
    }

    fn workload(&mut self, name: &str) -> &mut SimWorkload {
        self.workloads
            .get_mut(name)
            .expect("checked by MemoryEnvironment::with")
    }

    /// Appends one operation to the journal file and to the workload's log.
    fn record(&mut self, workload: &str, entry: serde_json::Value) {
        let line = entry.to_string();
        self.workload(workload).log.push(line.clone());
        if let Some(file) = &mut self.journal {
            let _ = writeln!(file, "{line}");
            let _ = file.flush();
        }
    }

    fn set_replicas(&mut self, workload: &str, replicas: u32) {
        self.workload(workload).desired = replicas;
        while self.workload(workload).pods.len() < replicas as usize {
            let name = self.new_pod_name(workload);
            self.workload(workload).pods.push(SimPod {
                name,
                born: Instant::now(),
                restarts: 0,
            });
        }
        self.workload(workload).pods.truncate(replicas as usize);
    }
}

#[async_trait]
impl Environment for MemoryEnvironment {
    fn info(&self) -> EnvironmentInfo {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        EnvironmentInfo {
            name: self.name.clone(),
            kind: "memory",
            // Faults and streams need real connections; the simulation has none.
            capabilities: Capabilities {
                faults: false,
                watch_stream: false,
                ..Capabilities::ALL
            },
            workloads: state.workloads.keys().cloned().collect(),
            services: self.services.clone(),
        }
    }

    fn focus_url(&self) -> String {
        self.focus_url.clone()
    }

    fn http_url(&self, service: &str) -> Option<String> {
        self.http_services
            .get(service)
            .map(|url| url.trim_end_matches('/').to_owned())
    }

    async fn scale(&self, workload: &str, replicas: u32) -> EnvResult<()> {
        self.with(workload, |state, w| {
            let from = state.workload(w).desired;
            state.set_replicas(w, replicas);
            state.record(w, serde_json::json!({"op": "scale", "workload": w, "replicas": replicas, "from": from}));
            Ok(())
        })
    }

    async fn replicas(&self, workload: &str) -> EnvResult<u32> {
        self.with(workload, |state, w| Ok(state.workload(w).desired))
    }

    async fn delete_pod(&self, workload: &str) -> EnvResult<String> {
        let startup = self.startup;
        self.with(workload, |state, w| {
            let index = state
                .workload(w)
                .pods
                .iter()
                .position(|p| p.born.elapsed() >= startup)
                .ok_or_else(|| EnvError::NotFound(format!("`{w}` has no ready pod to delete")))?;
            let pod = state.workload(w).pods.remove(index);
            if state.workload(w).desired as usize > state.workload(w).pods.len() {
                let name = state.new_pod_name(w);
                state.workload(w).pods.push(SimPod {
                    name,
                    born: Instant::now(),
                    restarts: 0,
                });
            }
            state.record(
                w,
                serde_json::json!({"op": "delete-pod", "workload": w, "pod": pod.name}),
            );
            Ok(pod.name)
        })
    }

    async fn pods(&self, workload: &str) -> EnvResult<Vec<Pod>> {
        let startup = self.startup;
        self.with(workload, |state, w| {
            Ok(state
                .workload(w)
                .pods
                .iter()
                .map(|p| Pod {
                    name: p.name.clone(),
                    ready: p.born.elapsed() >= startup,
                    restarts: p.restarts,
                })
                .collect())
        })
    }

    async fn wait_ready(&self, workload: &str, timeout: Duration) -> EnvResult<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let ready = self.with(workload, |state, w| {
                let desired = state.workload(w).desired as usize;
                let workload = state.workload(w);
                Ok(workload.pods.len() == desired && self.ready_count(workload) == desired)
            })?;
            if ready {
                self.with(workload, |state, w| {
                    state.record(w, serde_json::json!({"op": "wait-ready", "workload": w}));
                    Ok(())
                })?;
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(EnvError::Timeout(format!(
                    "`{workload}` was not ready within {} ms",
                    timeout.as_millis()
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn block_network(&self, workload: &str, mode: BlockMode) -> EnvResult<()> {
        self.with(workload, |state, w| {
            state.workload(w).block = Some(mode);
            let mode = format!("{mode:?}").to_lowercase();
            state.record(
                w,
                serde_json::json!({"op": "block", "workload": w, "mode": mode}),
            );
            Ok(())
        })
    }

    async fn unblock_network(&self, workload: &str) -> EnvResult<()> {
        self.with(workload, |state, w| {
            state.workload(w).block = None;
            state.record(w, serde_json::json!({"op": "unblock", "workload": w}));
            Ok(())
        })
    }

    async fn memory(&self, workload: &str) -> EnvResult<Option<u64>> {
        self.with(workload, |state, w| {
            let pods = state.workload(w).pods.len() as u64;
            Ok((pods > 0).then_some(pods * (64 << 20)))
        })
    }

    async fn probe(&self, service: &str) -> EnvResult<ProbeResult> {
        let (reachable, detail) = self.with(service, |state, w| {
            let workload = state.workload(w);
            Ok(match workload.block {
                Some(BlockMode::Blackhole) => (false, "timed out (network blackholed)".to_owned()),
                Some(BlockMode::Refuse) => {
                    (false, "connection refused (network blocked)".to_owned())
                }
                None if self.ready_count(workload) == 0 => {
                    (false, "connection refused (no ready pod)".to_owned())
                }
                None => (true, "ok".to_owned()),
            })
        })?;
        Ok(ProbeResult {
            reachable,
            latency: Duration::ZERO,
            detail,
        })
    }

    async fn deviations(&self) -> EnvResult<Vec<Deviation>> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut deviations = Vec::new();
        for (name, w) in &state.workloads {
            let ready = self.ready_count(w);
            if w.desired != w.declared
                || ready != w.declared as usize
                || w.pods.len() != w.declared as usize
            {
                let problem = format!(
                    "{ready} of {} replicas ready, {} declared",
                    w.pods.len(),
                    w.declared
                );
                deviations.push(Deviation {
                    target: name.clone(),
                    problem,
                });
            }
            if let Some(mode) = w.block {
                let problem = format!("network blocked ({mode:?})").to_lowercase();
                deviations.push(Deviation {
                    target: name.clone(),
                    problem,
                });
            }
        }
        Ok(deviations)
    }

    async fn log_tails(&self, lines: usize) -> Vec<LogTail> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .workloads
            .iter()
            .filter(|(_, w)| !w.log.is_empty())
            .map(|(name, w)| LogTail {
                source: name.clone(),
                lines: w.log[w.log.len().saturating_sub(lines)..].to_vec(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(toml: &str) -> MemoryEnvironment {
        let config: MemoryConfig = toml::from_str(toml).unwrap();
        let ctx = OpenContext {
            name: "sim".into(),
            run_id: "test".into(),
            config_dir: std::env::temp_dir(),
            run_dir: std::env::temp_dir(),
            force_cleanup: false,
        };
        MemoryEnvironment::new(&config, &ctx).unwrap()
    }

    #[tokio::test]
    async fn scale_and_block_show_as_deviations_until_undone() {
        let env =
            sim("[workloads.mongodb]\nreplicas = 1\n[workloads.focus-server]\nreplicas = 2\n");
        assert!(env.deviations().await.unwrap().is_empty());
        env.scale("mongodb", 0).await.unwrap();
        env.block_network("focus-server", BlockMode::Refuse)
            .await
            .unwrap();
        let off = env.deviations().await.unwrap();
        assert_eq!(off.len(), 2, "{off:?}");
        assert!(!env.probe("mongodb").await.unwrap().reachable);
        env.scale("mongodb", 1).await.unwrap();
        env.unblock_network("focus-server").await.unwrap();
        assert!(env.deviations().await.unwrap().is_empty());
        assert!(env.probe("mongodb").await.unwrap().reachable);
    }

    #[tokio::test]
    async fn a_deleted_pod_is_replaced_after_its_startup() {
        let env = sim("startup_ms = 30\n[workloads.mongodb]\n");
        let before = env.pods("mongodb").await.unwrap();
        let deleted = env.delete_pod("mongodb").await.unwrap();
        assert_eq!(deleted, before[0].name);
        let after = env.pods("mongodb").await.unwrap();
        assert_eq!(after.len(), 1);
        assert!(!after[0].ready && after[0].name != deleted);
        assert!(!env.deviations().await.unwrap().is_empty());
        env.wait_ready("mongodb", Duration::from_secs(2))
            .await
            .unwrap();
        assert!(env.deviations().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn unknown_workloads_are_not_found() {
        let env = sim("[workloads.mongodb]\n");
        assert!(matches!(
            env.scale("kafka", 1).await,
            Err(EnvError::NotFound(_))
        ));
    }
}
