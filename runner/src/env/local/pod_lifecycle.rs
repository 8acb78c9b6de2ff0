//! The task that runs one pod through its life: the start-up window, the volume, starting the
//! process from the spawner thread, readiness checks, restarts in place with back-off, and the
//! graceful stop (SIGTERM to the group, SIGKILL after the grace period).

use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use super::logs::PodLog;
use super::pod::{Phase, PodStatus, PodTemplate};
use super::probe;
use super::spawner::{self, GroupChild};
use super::template::Bindings;

/// How often a process is checked for having exited.
const EXIT_POLL: Duration = Duration::from_millis(100);
/// Readiness checks: often until ready, then once a second, and three failures in a row to lose
/// readiness (the Kubernetes default threshold).
const PROBE_UNTIL_READY: Duration = Duration::from_millis(200);
const PROBE_WHEN_READY: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
const FAILURE_THRESHOLD: u32 = 3;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The task's side of a pod.
pub struct Pod {
    /// What all pods of the workload share.
    pub template: Arc<PodTemplate>,
    /// The status the handle reads.
    pub status: Arc<Mutex<PodStatus>>,
    /// Turns true when the pod is to stop.
    pub stop: watch::Receiver<bool>,
    /// Notified on every change of the status.
    pub changed: Arc<Notify>,
}

enum Ended {
    /// Stopped on request.
    Stopped,
    /// Exited by itself (or never started); whether it had been ready.
    Exited { was_ready: bool },
}

impl Pod {
    /// Changes the status and tells the deployment.
    pub fn update(&self, f: impl FnOnce(&mut PodStatus)) {
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

    /// Runs the pod from its creation until it is gone.
    pub async fn live(mut self, start_at: Instant, log: Arc<PodLog>) {
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
