//! `env status`: a live snapshot of a running local environment. The environment answers on an
//! abstract Unix socket named after its run folder (no file, no length limit from deep paths,
//! gone with the process however it ends) and points `<runs>/current` at that folder, so
//! `env status` finds the newest one while it runs and nothing stale after it ends.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::deployment::Deployment;
use super::pod::PodStatus;
use super::proxy::block_name;

/// The abstract socket name of the environment whose run folder is `run_dir`.
fn socket_name(run_dir: &Path) -> String {
    use sha2::{Digest, Sha256};
    let canonical = run_dir
        .canonicalize()
        .unwrap_or_else(|_| run_dir.to_owned());
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("scenario-runner-env-{hex}")
}

fn socket_addr(run_dir: &Path) -> std::io::Result<std::os::unix::net::SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(socket_name(run_dir))
}

/// The whole environment now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvStatus {
    /// Its name in `runner.toml`.
    pub environment: String,
    /// The run's id.
    pub run_id: String,
    /// The process that runs it.
    pub pid: u32,
    /// The run's folder: logs and data.
    pub run_dir: PathBuf,
    /// The Focus Server's URL.
    pub focus_url: String,
    /// The workloads, by name.
    pub workloads: Vec<WorkloadStatus>,
}

/// One workload now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadStatus {
    /// Its name.
    pub name: String,
    /// `127.0.0.1:PORT`.
    pub service: String,
    /// Whether the service listens (it refuses when not).
    pub listening: bool,
    /// The replicas it should have now.
    pub desired: u32,
    /// The replicas it is declared with.
    pub declared: u32,
    /// `blackhole`, `refuse` or none.
    pub block: Option<String>,
    /// Connections through the service now.
    pub open_connections: usize,
    /// Its pods, oldest first, then those terminating.
    pub pods: Vec<PodInfo>,
}

/// One pod now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodInfo {
    /// Its name.
    pub name: String,
    /// Its own port.
    pub port: u16,
    /// `Running`, `Pending (…)`, `CrashLoopBackOff`, `Terminating`.
    pub phase: String,
    /// Whether its readiness check passes.
    pub ready: bool,
    /// Its restart count.
    pub restarts: u32,
    /// Its process id while it runs.
    pub pid: Option<u32>,
    /// Seconds since it was created.
    pub age_s: f64,
    /// Its log file.
    pub log: PathBuf,
}

impl WorkloadStatus {
    /// The status of `d` now.
    pub fn of(d: &Deployment) -> Self {
        let s = d.status();
        let info = |p: &PodStatus| PodInfo {
            name: p.name.clone(),
            port: p.port,
            phase: p.phase.to_string(),
            ready: p.ready,
            restarts: p.restarts,
            pid: p.pid,
            age_s: p.created.elapsed().as_secs_f64(),
            log: p.log_path.clone(),
        };
        WorkloadStatus {
            name: d.name().to_owned(),
            service: format!("127.0.0.1:{}", d.service_port()),
            listening: s.listening,
            desired: s.desired,
            declared: s.declared,
            block: s.block.map(|b| block_name(b).to_owned()),
            open_connections: s.open_connections,
            pods: s.pods.iter().chain(&s.terminating).map(info).collect(),
        }
    }
}

/// Answers status queries until dropped; then removes the `current` link if it is still its.
#[derive(Debug)]
pub struct StatusServer {
    task: JoinHandle<()>,
    link: PathBuf,
    run_dir: PathBuf,
}

impl StatusServer {
    /// Listens on the run's socket and points `<run_dir>/../current` at `run_dir`.
    pub fn start(
        run_dir: &Path,
        snapshot: impl Fn() -> EnvStatus + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let listener = std::os::unix::net::UnixListener::bind_addr(&socket_addr(run_dir)?)?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::UnixListener::from_std(listener)?;
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut text = serde_json::to_string(&snapshot()).unwrap_or_default();
                text.push('\n');
                let _ = stream.write_all(text.as_bytes()).await;
            }
        });
        let link = run_dir.parent().unwrap_or(run_dir).join("current");
        if let Some(name) = run_dir.file_name() {
            let temp = link.with_file_name(format!(".current-{}", std::process::id()));
            let _ = std::fs::remove_file(&temp);
            std::os::unix::fs::symlink(name, &temp).and_then(|()| std::fs::rename(&temp, &link))?;
        }
        Ok(Self {
            task,
            link,
            run_dir: run_dir.to_owned(),
        })
    }
}

impl Drop for StatusServer {
    fn drop(&mut self) {
        self.task.abort();
        if std::fs::read_link(&self.link)
            .is_ok_and(|target| Some(target.as_os_str()) == self.run_dir.file_name())
        {
            let _ = std::fs::remove_file(&self.link);
        }
    }
}

/// Asks the environment whose run folder is `run_dir` (such as `target/scenario-runs/current`)
/// for its status.
pub async fn query(run_dir: &Path) -> Result<EnvStatus, String> {
    let not_running = |e: std::io::Error| {
        format!(
            "no local environment is running ({}: {e}); start one with `scenario-runner env up`",
            run_dir.display()
        )
    };
    let stream =
        std::os::unix::net::UnixStream::connect_addr(&socket_addr(run_dir).map_err(not_running)?)
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .map_err(not_running)?;
    let mut stream = tokio::net::UnixStream::from_std(stream).map_err(not_running)?;
    let mut text = String::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_string(&mut text),
    )
    .await;
    read.map_err(|_| {
        format!(
            "the environment at {} did not answer within 5 s",
            run_dir.display()
        )
    })?
    .map_err(|e| format!("cannot read the status from {}: {e}", run_dir.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("unreadable status from {}: {e}", run_dir.display()))
}

impl fmt::Display for EnvStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "environment {} (run {}, pid {}), logs in {}",
            self.environment,
            self.run_id,
            self.pid,
            self.run_dir.join("logs").display()
        )?;
        writeln!(f, "FOCUS_URL={}", self.focus_url)?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<16} {:<18} {:<10} {:<6} {:<10} {:>5}",
            "WORKLOAD", "SERVICE", "REPLICAS", "READY", "BLOCK", "CONNS"
        )?;
        for w in &self.workloads {
            let ready = w.pods.iter().filter(|p| p.ready).count();
            let service = if w.listening {
                w.service.clone()
            } else {
                format!("{} (refusing)", w.service)
            };
            let replicas = format!("{}/{}", w.desired, w.declared);
            let block = w.block.as_deref().unwrap_or("-");
            writeln!(
                f,
                "{:<16} {:<18} {:<10} {:<6} {:<10} {:>5}",
                w.name, service, replicas, ready, block, w.open_connections
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<32} {:<6} {:<8} {:>8} {:>7} {:>8}  STATUS",
            "POD", "PORT", "PID", "READY", "RESTARTS", "AGE"
        )?;
        for p in self.workloads.iter().flat_map(|w| &w.pods) {
            let pid = p.pid.map_or("-".to_owned(), |pid| pid.to_string());
            writeln!(
                f,
                "{:<32} {:<6} {:<8} {:>8} {:>7} {:>8}  {}",
                p.name,
                p.port,
                pid,
                p.ready,
                p.restarts,
                age(p.age_s),
                p.phase
            )?;
        }
        Ok(())
    }
}

/// `42s`, `3m5s`, `2h10m`.
fn age(seconds: f64) -> String {
    let s = seconds as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        _ => format!("{}h{}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EnvStatus {
        EnvStatus {
            environment: "local".into(),
            run_id: "r1".into(),
            pid: 42,
            run_dir: "/tmp/runs/r1".into(),
            focus_url: "http://127.0.0.1:5000".into(),
            workloads: vec![WorkloadStatus {
                name: "mongodb".into(),
                service: "127.0.0.1:27117".into(),
                listening: false,
                desired: 0,
                declared: 1,
                block: Some("blackhole".into()),
                open_connections: 0,
                pods: vec![PodInfo {
                    name: "mongodb-bcdfg-hjklm".into(),
                    port: 40000,
                    phase: "Terminating".into(),
                    ready: false,
                    restarts: 1,
                    pid: Some(7),
                    age_s: 125.0,
                    log: "/tmp/runs/r1/logs/mongodb-bcdfg-hjklm.log".into(),
                }],
            }],
        }
    }

    #[tokio::test]
    async fn a_running_environment_answers_and_cleans_up_after_itself() {
        let runs = tempfile::tempdir().unwrap();
        let run_dir = runs.path().join("r1");
        std::fs::create_dir_all(&run_dir).unwrap();
        let server = StatusServer::start(&run_dir, sample).unwrap();
        let current = runs.path().join("current");
        assert_eq!(query(&current).await.unwrap(), sample());
        drop(server);
        assert!(!runs.path().join("current").exists());
        let err = query(&current).await.unwrap_err();
        assert!(err.contains("scenario-runner env up"), "{err}");
    }

    #[test]
    fn the_table_shows_blocks_refusals_and_pods() {
        let text = sample().to_string();
        assert!(text.contains("127.0.0.1:27117 (refusing)"), "{text}");
        assert!(text.contains("blackhole"), "{text}");
        assert!(text.contains("mongodb-bcdfg-hjklm"), "{text}");
        assert!(text.contains("2m5s"), "{text}");
        assert!(text.contains("Terminating"), "{text}");
    }
}
