//! A pod: one supervised process of a workload, with a pod-like name, its own port, its own
//! process group, a readiness check and a restart count.
//!
//! Its life, run by one tokio task: `Pending` (a replacement's start-up window, or waiting for the
//! workload's volume to be released by a terminating pod), `Running` (ready once its check
//! passes), `CrashLoopBackOff` (it exited by itself; it restarts in place after 1 s, 2 s, 4 s …
//! up to 30 s, counting a restart), `Terminating` (SIGTERM to its group, SIGKILL after the grace
//! period) and `Gone`. Dropping the handle kills the process group at once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::config::Readiness;
use super::logs::{PodLog, WorkloadLog};
use super::probe;
use super::spawner::{self, GroupChild};
use super::template::{Bindings, CommandTemplate};

/// How often a process is checked for having exited.
const EXIT_POLL: Duration = Duration::from_millis(100);
/// Readiness checks: often until ready, then once a second, and three failures in a row to lose
/// readiness (the Kubernetes default threshold).
const PROBE_UNTIL_READY: Duration = Duration::from_millis(200);
const PROBE_WHEN_READY: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
const FAILURE_THRESHOLD: u32 = 3;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What every pod of one workload shares.
#[derive(Debug)]
pub struct PodTemplate {
    /// The workload's name.
    pub workload: String,
    /// The command, with placeholders.
    pub command: CommandTemplate,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// The readiness check.
    pub readiness: Readiness,
    /// SIGTERM to SIGKILL.
    pub stop_grace: Duration,
    /// The run's id.
    pub run_id: String,
    /// The working directory of the pods: the run's folder.
    pub work_dir: PathBuf,
    /// `{data_dir}`: kept across pods within a run.
    pub data_dir: PathBuf,
    /// Every workload's service port, for `{service:NAME}`.
    pub services: BTreeMap<String, u16>,
    /// Programs for `{exe:NAME}`.
    pub exes: BTreeMap<String, PathBuf>,
    /// The workload's logs.
    pub log: Arc<WorkloadLog>,
    /// The volume, when the command uses `{data_dir}`: one pod at a time holds it while it runs.
    pub volume: Option<Arc<tokio::sync::Mutex<()>>>,
    /// The stable middle part of pod names, from the run and the template.
    pub template_hash: String,
}

/// Where a pod is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Not started yet, and why.
    Pending(String),
    /// Its process runs.
    Running,
    /// It exited by itself and restarts after a back-off.
    CrashLoopBackOff,
    /// Being stopped.
    Terminating,
    /// Stopped and reaped.
    Gone,
}

/// What a pod is now.
#[derive(Debug, Clone)]
pub struct PodStatus {
    /// Pod-like name, such as `mongodb-7b8f6-xk4m2`.
    pub name: String,
    /// Its own port on 127.0.0.1.
    pub port: u16,
    /// Where it is in its life.
    pub phase: Phase,
    /// Whether its readiness check passes.
    pub ready: bool,
    /// Restarts in place, plus those of the pods it replaced.
    pub restarts: u32,
    /// The process (and process group) id while it runs.
    pub pid: Option<u32>,
    /// When it was created.
    pub created: Instant,
    /// How its process last ended, such as `exit status: 1`.
    pub last_exit: Option<String>,
    /// The last readiness check's answer.
    pub last_check: Option<String>,
    /// Its log file.
    pub log_path: PathBuf,
}

/// A pod and the task that runs it. Dropping it kills the pod's process group.
#[derive(Debug)]
pub struct PodHandle {
    status: Arc<Mutex<PodStatus>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl PodHandle {
    /// Creates a pod that starts at `start_at`, carrying `restarts`; `changed` is notified on
    /// every change of its status.
    pub fn create(
        template: &Arc<PodTemplate>,
        restarts: u32,
        start_at: Instant,
        changed: Arc<Notify>,
    ) -> Self {
        let name = pod_name(&template.workload, &template.template_hash);
        let port = free_port();
        let log = template.log.open_pod(&name);
        let status = Arc::new(Mutex::new(PodStatus {
            name,
            port,
            phase: Phase::Pending("created".into()),
            ready: false,
            restarts,
            pid: None,
            created: Instant::now(),
            last_exit: None,
            last_check: None,
            log_path: log
                .as_ref()
                .map(|l| l.path().to_owned())
                .unwrap_or_default(),
        }));
        let (stop, stop_rx) = watch::channel(false);
        let pod = Pod {
            template: template.clone(),
            status: status.clone(),
            stop: stop_rx,
            changed,
        };
        let task = tokio::spawn(async move {
            match log {
                Ok(log) => pod.live(start_at, log).await,
                Err(e) => pod.update(|s| {
                    s.last_exit = Some(format!("cannot create its log file: {e}"));
                    s.phase = Phase::Gone;
                }),
            }
        });
        Self { status, stop, task }
    }

    /// A copy of its status.
    pub fn status(&self) -> PodStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Begins stopping it: it leaves the service's endpoints at once.
    pub fn terminate(&self) {
        {
            let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
            if s.phase != Phase::Gone {
                s.phase = Phase::Terminating;
            }
            s.ready = false;
        }
        self.stop.send_replace(true);
    }

    /// Waits until its task has ended (after [`terminate`](Self::terminate)).
    pub async fn finished(&mut self) {
        let _ = (&mut self.task).await;
    }

    /// SIGKILLs its process group now, if it runs. For drop paths that cannot wait.
    pub fn kill_now(&self) {
        if let Some(pid) = self.status().pid {
            // SAFETY: kill(2) on the pod's own process group; `pid` is cleared once reaped.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
    }
}

impl Drop for PodHandle {
    fn drop(&mut self) {
        self.kill_now();
        self.task.abort();
    }
}

/// The task's side of a pod.
struct Pod {
    template: Arc<PodTemplate>,
    status: Arc<Mutex<PodStatus>>,
    stop: watch::Receiver<bool>,
    changed: Arc<Notify>,
}

enum Ended {
    /// Stopped on request.
    Stopped,
    /// Exited by itself (or never started); whether it had been ready.
    Exited { was_ready: bool },
}

impl Pod {
    fn update(&self, f: impl FnOnce(&mut PodStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()));
        self.changed.notify_one();
    }

    /// Notes why it waits, unless it is already being stopped.
    fn set_pending(&self, why: String) {
        self.update(|s| {
            if s.phase != Phase::Terminating {
                s.phase = Phase::Pending(why);
            }
        });
    }

    fn status(&self) -> PodStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Resolves once the pod is asked to stop (or its handle is gone).
    async fn stopped(stop: &mut watch::Receiver<bool>) {
        let _ = stop.wait_for(|stop| *stop).await;
    }

    /// Sleeps until `until`; true when asked to stop first.
    async fn sleep_until(&mut self, until: Instant) -> bool {
        tokio::select! {
            _ = tokio::time::sleep_until(until.into()) => false,
            _ = Self::stopped(&mut self.stop) => true,
        }
    }

    async fn live(mut self, start_at: Instant, log: Arc<PodLog>) {
        if start_at > Instant::now() {
            let window = start_at - Instant::now();
            self.set_pending(format!("starting in {window:.1?}"));
            log.event(&format!(
                "created; starts after the start-up window of {window:.1?}"
            ));
        }
        if self.sleep_until(start_at).await {
            return self.gone(&log, "deleted before it started");
        }
        let _volume = match self.template.volume.clone() {
            Some(volume) => {
                self.set_pending("waiting for the volume to be released".into());
                tokio::select! {
                    held = volume.lock_owned() => Some(held),
                    _ = Self::stopped(&mut self.stop) => return self.gone(&log, "deleted before it started"),
                }
            }
            None => None,
        };
        let mut crashes = 0;
        loop {
            match self.run_process(&log).await {
                Ended::Stopped => break,
                Ended::Exited { was_ready } => {
                    // A pod that was ready before it crashed starts its back-off afresh.
                    crashes = if was_ready { 1 } else { crashes + 1 };
                    let backoff = Duration::from_secs(1 << (crashes - 1).min(5)).min(MAX_BACKOFF);
                    self.update(|s| {
                        if s.phase != Phase::Terminating {
                            s.phase = Phase::CrashLoopBackOff;
                        }
                        s.ready = false;
                        s.restarts += 1;
                    });
                    log.event(&format!("back-off: restarting in {backoff:?}"));
                    if self.sleep_until(Instant::now() + backoff).await {
                        break;
                    }
                }
            }
        }
        self.gone(&log, "stopped");
    }

    fn gone(&self, log: &PodLog, why: &str) {
        log.event(why);
        self.update(|s| {
            s.phase = Phase::Gone;
            s.ready = false;
            s.pid = None;
        });
    }

    /// Starts the process and watches it until it exits or the pod is stopped.
    async fn run_process(&mut self, log: &Arc<PodLog>) -> Ended {
        let PodStatus { name, port, .. } = self.status();
        let mut child = match self.spawn(&name, port, log).await {
            Ok(child) => child,
            Err(e) => {
                log.event(&e);
                self.update(|s| s.last_exit = Some(e));
                return Ended::Exited { was_ready: false };
            }
        };
        self.update(|s| {
            if s.phase != Phase::Terminating {
                s.phase = Phase::Running;
            }
            s.pid = Some(child.pid());
        });
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut next_check = Instant::now() + PROBE_UNTIL_READY;
        let mut failures = 0;
        let mut was_ready = false;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(EXIT_POLL) => {}
                _ = Self::stopped(&mut self.stop) => return self.stop_process(child, log).await,
            }
            if let Some(exit) = child.try_wait() {
                log.event(&format!("exited by itself: {exit}"));
                self.update(|s| {
                    s.pid = None;
                    s.ready = false;
                    s.last_exit = Some(exit.to_string());
                });
                return Ended::Exited { was_ready };
            }
            if Instant::now() < next_check {
                continue;
            }
            let check = tokio::select! {
                check = probe::check(&self.template.readiness, addr, PROBE_TIMEOUT) => check,
                _ = Self::stopped(&mut self.stop) => return self.stop_process(child, log).await,
            };
            failures = if check.reachable { 0 } else { failures + 1 };
            let ready_before = self.status().ready;
            let ready = check.reachable || (ready_before && failures < FAILURE_THRESHOLD);
            if ready != ready_before {
                log.event(&format!(
                    "readiness ({}): {}",
                    self.template.readiness,
                    if ready { "ready" } else { &check.detail }
                ));
            }
            was_ready |= ready;
            self.update(|s| {
                s.ready = ready && s.phase == Phase::Running;
                s.last_check = Some(check.detail);
            });
            next_check = Instant::now()
                + if ready {
                    PROBE_WHEN_READY
                } else {
                    PROBE_UNTIL_READY
                };
        }
    }

    async fn spawn(&self, name: &str, port: u16, log: &Arc<PodLog>) -> Result<GroupChild, String> {
        let t = &self.template;
        let bindings = Bindings {
            port,
            pod: name,
            run_id: &t.run_id,
            data_dir: &t.data_dir,
            services: &t.services,
            exes: &t.exes,
        };
        let argv = t
            .command
            .render(&bindings)
            .map_err(|e| format!("cannot start: {e}"))?;
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .envs(&t.env)
            .current_dir(&t.work_dir);
        let mut child = spawner::spawn(command)
            .await
            .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
        let (stdout, stderr) = child.take_output();
        log.attach(stdout, stderr);
        log.event(&format!(
            "started: pid {} on port {port}: {}",
            child.pid(),
            argv.join(" ")
        ));
        Ok(child)
    }

    /// SIGTERM to the group, SIGKILL after the grace period, then reap.
    async fn stop_process(&mut self, mut child: GroupChild, log: &PodLog) -> Ended {
        let grace = self.template.stop_grace;
        let started = Instant::now();
        child.signal(libc::SIGTERM);
        log.event(&format!("SIGTERM (grace period {grace:?})"));
        let mut killed = false;
        let exit = loop {
            if let Some(exit) = child.try_wait() {
                break exit;
            }
            if !killed && started.elapsed() >= grace {
                child.signal(libc::SIGKILL);
                log.event("SIGKILL: the grace period is over");
                killed = true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        log.event(&format!("ended after {:.1?}: {exit}", started.elapsed()));
        self.update(|s| {
            s.pid = None;
            s.last_exit = Some(exit.to_string());
        });
        Ended::Stopped
    }
}

/// `workload-hash-xxxxx`, with Kubernetes' alphabet for generated names.
fn pod_name(workload: &str, template_hash: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{workload}-{template_hash}-{suffix}")
}

/// Five characters of Kubernetes' name alphabet derived from `parts`: stable for one run's
/// workload template, like a pod-template-hash.
pub fn template_hash(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let digest = Sha256::digest(parts.join("\0").as_bytes());
    digest
        .iter()
        .take(5)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_look_like_pods_and_share_the_template_hash() {
        let hash = template_hash(&["run-1", "mongodb", "secantusd-py --port {port}"]);
        assert_eq!(
            hash,
            template_hash(&["run-1", "mongodb", "secantusd-py --port {port}"])
        );
        assert_ne!(
            hash,
            template_hash(&["run-2", "mongodb", "secantusd-py --port {port}"])
        );
        let (a, b) = (pod_name("mongodb", &hash), pod_name("mongodb", &hash));
        assert_ne!(a, b);
        let parts: Vec<&str> = a.rsplitn(3, '-').collect();
        assert_eq!(parts.len(), 3, "{a}");
        assert_eq!(
            (parts[2], parts[1], parts[0].len()),
            ("mongodb", hash.as_str(), 5)
        );
    }
}
