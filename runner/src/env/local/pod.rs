//! A pod: one supervised process of a workload, with a pod-like name, its own port, its own
//! process group, a readiness check and a restart count.
//!
//! Its life, run by one tokio task (see `pod_lifecycle`): `Pending` (a replacement's start-up window, or waiting for the
//! workload's volume to be released by a terminating pod), `Running` (ready once its check
//! passes), `CrashLoopBackOff` (it exited by itself; it restarts in place after 1 s, 2 s, 4 s …
//! up to 30 s, counting a restart), `Terminating` (SIGTERM to its group, SIGKILL after the grace
//! period) and `Gone`. Dropping the handle kills the process group at once.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::config::Readiness;
use super::logs::WorkloadLog;
use super::names::{free_port, pod_name};
use super::pod_lifecycle::Pod;
use super::template::CommandTemplate;

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

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pending(why) => write!(f, "Pending ({why})"),
            Self::Running => f.write_str("Running"),
            Self::CrashLoopBackOff => f.write_str("CrashLoopBackOff"),
            Self::Terminating => f.write_str("Terminating"),
            Self::Gone => f.write_str("Gone"),
        }
    }
}
