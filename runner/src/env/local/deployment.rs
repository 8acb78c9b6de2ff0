//! A Deployment: keeps a workload at its desired number of pods, replaces deleted pods after the
//! start-up window, and feeds the ready pods to its Service.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::pod::{Phase, PodHandle, PodStatus, PodTemplate};
use super::proc_memory;
use super::proxy::{Service, block_name};
use crate::env::{BlockMode, Deviation, EnvError, EnvResult, Pod};
use fault_proxy::{Fault, FaultError, FaultId};

/// The most replicas `scale` starts on one machine.
pub const MAX_REPLICAS: u32 = 16;

/// One workload: its pods and its service.
#[derive(Debug)]
pub struct Deployment {
    name: String,
    declared: u32,
    recreate_delay: Duration,
    template: Arc<PodTemplate>,
    service: Service,
    state: Mutex<State>,
    /// Pods notify this on every change of their status.
    pod_changed: Arc<Notify>,
    /// Bumped after every refresh, for waiters.
    generation: watch::Sender<u64>,
    refresher: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug, Default)]
struct State {
    desired: u32,
    /// The pods that count towards the replicas, oldest first.
    pods: Vec<PodHandle>,
    /// Deleted or scaled-away pods until their process is gone.
    terminating: Vec<PodHandle>,
}

/// A snapshot of a deployment, for `env status` and messages.
#[derive(Debug, Clone)]
pub struct DeploymentStatus {
    /// The replicas it should have now.
    pub desired: u32,
    /// The replicas it is declared with.
    pub declared: u32,
    /// Its pods, oldest first.
    pub pods: Vec<PodStatus>,
    /// Pods being stopped.
    pub terminating: Vec<PodStatus>,
    /// The block on its service.
    pub block: Option<BlockMode>,
    /// Whether its service listens now.
    pub listening: bool,
    /// Connections through its service now.
    pub open_connections: usize,
}

impl Deployment {
    /// A deployment with no pods yet; [`scale`](Self::scale) starts them.
    pub fn new(
        declared: u32,
        recreate_delay: Duration,
        template: PodTemplate,
        service: Service,
    ) -> Arc<Self> {
        let deployment = Arc::new(Self {
            name: template.workload.clone(),
            declared,
            recreate_delay,
            template: Arc::new(template),
            service,
            state: Mutex::new(State::default()),
            pod_changed: Arc::new(Notify::new()),
            generation: watch::Sender::new(0),
            refresher: Mutex::new(None),
        });
        let weak = Arc::downgrade(&deployment);
        let changed = deployment.pod_changed.clone();
        *deployment
            .refresher
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(tokio::spawn(refresh_loop(weak, changed)));
        deployment
    }

    /// The workload's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The service's port.
    pub fn service_port(&self) -> u16 {
        self.service.port()
    }

    /// The readiness check, which is also how the service is probed.
    pub fn readiness(&self) -> &super::config::Readiness {
        &self.template.readiness
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the desired replicas: starts new pods at once, or stops the surplus (not-ready
    /// ones first, then the newest). Returns without waiting, as the scale subresource does.
    pub fn scale(&self, replicas: u32) -> EnvResult<()> {
        if replicas > MAX_REPLICAS {
            return Err(EnvError::Failed(format!(
                "cannot scale {} to {replicas}: the local environment runs at most {MAX_REPLICAS} replicas per workload",
                self.name
            )));
        }
        let mut state = self.lock();
        state.desired = replicas;
        while state.pods.len() < replicas as usize {
            let pod =
                PodHandle::create(&self.template, 0, Instant::now(), self.pod_changed.clone());
            state.pods.push(pod);
        }
        while state.pods.len() > replicas as usize {
            let victim = (0..state.pods.len())
                .rev()
                .find(|&i| !state.pods[i].status().ready)
                .unwrap_or(state.pods.len() - 1);
            let pod = state.pods.remove(victim);
            pod.terminate();
            state.terminating.push(pod);
        }
        self.refresh_locked(&mut state);
        Ok(())
    }

    /// The desired replicas.
    pub fn replicas(&self) -> u32 {
        self.lock().desired
    }

    /// Deletes the oldest ready pod (or the oldest pod when none is ready) and creates its
    /// replacement, which starts after the start-up window under a new name and carries the
    /// deleted pod's restart count plus one.
    pub fn delete_pod(&self) -> EnvResult<String> {
        let mut state = self.lock();
        let statuses: Vec<PodStatus> = state.pods.iter().map(PodHandle::status).collect();
        let victim = statuses
            .iter()
            .position(|s| s.ready)
            .or(if statuses.is_empty() { None } else { Some(0) });
        let Some(victim) = victim else {
            return Err(EnvError::NotFound(format!(
                "workload {} has no pod to delete (it is scaled to 0); scale it up first",
                self.name
            )));
        };
        let pod = state.pods.remove(victim);
        pod.terminate();
        state.terminating.push(pod);
        let start_at = Instant::now() + self.recreate_delay;
        let replacement = PodHandle::create(
            &self.template,
            statuses[victim].restarts + 1,
            start_at,
            self.pod_changed.clone(),
        );
        state.pods.push(replacement);
        self.refresh_locked(&mut state);
        Ok(statuses[victim].name.clone())
    }

    /// The pods, oldest first, without those being stopped.
    pub fn pods(&self) -> Vec<Pod> {
        self.lock()
            .pods
            .iter()
            .map(|p| {
                let s = p.status();
                Pod {
                    name: s.name,
                    ready: s.ready,
                    restarts: s.restarts,
                }
            })
            .collect()
    }

    /// Whether it has exactly its desired pods, all ready.
    pub fn is_ready(&self) -> bool {
        let state = self.lock();
        state.pods.len() == state.desired as usize && state.pods.iter().all(|p| p.status().ready)
    }

    /// Waits until the desired pods are all ready; the error says which pods are not and why.
    pub async fn wait_ready(&self, timeout: Duration) -> EnvResult<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut generation = self.generation.subscribe();
        while !self.is_ready() {
            if tokio::time::timeout_at(deadline, generation.changed())
                .await
                .is_err()
            {
                return Err(EnvError::Timeout(format!(
                    "{} after {timeout:?}: {}",
                    self.name,
                    self.readiness_summary()
                )));
            }
        }
        Ok(())
    }

    /// "0 of 1 pods ready (mongodb-…: CrashLoopBackOff, last exit: exit status: 1)".
    pub fn readiness_summary(&self) -> String {
        let state = self.lock();
        let statuses: Vec<PodStatus> = state.pods.iter().map(PodHandle::status).collect();
        let ready = statuses.iter().filter(|s| s.ready).count();
        let mut text = format!("{ready} of {} pods ready", state.desired);
        let details: Vec<String> = statuses
            .iter()
            .filter(|s| !s.ready)
            .map(describe_unready)
            .collect();
        if !details.is_empty() {
            text.push_str(&format!(" ({})", details.join("; ")));
        }
        text
    }

    /// The most times any of its pods has crashed.
    pub fn max_restarts(&self) -> u32 {
        self.lock()
            .pods
            .iter()
            .map(|p| p.status().restarts)
            .max()
            .unwrap_or(0)
    }

    /// Puts a network fault on the service.
    pub fn block(&self, mode: BlockMode) {
        self.service.set_block(Some(mode));
    }

    /// Lifts the service's network fault.
    pub fn unblock(&self) {
        self.service.set_block(None);
    }

    /// Adds a fault on the service under `id`, after the others.
    pub fn add_fault(&self, id: FaultId, fault: Fault) -> Result<(), FaultError> {
        self.service.add_fault(id, fault)
    }

    /// Removes fault `id` from the service.
    pub fn remove_fault(&self, id: FaultId) -> Result<Fault, FaultError> {
        self.service.remove_fault(id)
    }

    /// Resident bytes of the running pods' process groups; `None` when none runs.
    pub fn memory(&self) -> Option<u64> {
        let pids: Vec<u32> = self
            .lock()
            .pods
            .iter()
            .filter_map(|p| p.status().pid)
            .collect();
        pids.into_iter()
            .filter_map(proc_memory::group_rss)
            .reduce(|a, b| a + b)
    }

    /// How it differs from its declared steady state.
    pub fn deviations(&self) -> Vec<Deviation> {
        let mut found = Vec::new();
        let deviation = |problem: String| Deviation {
            target: self.name.clone(),
            problem,
        };
        let (desired, ready) = {
            let state = self.lock();
            (
                state.desired,
                state.pods.iter().filter(|p| p.status().ready).count() as u32,
            )
        };
        if desired != self.declared {
            found.push(deviation(format!(
                "scaled to {desired}, declared with {}",
                self.declared
            )));
        } else if ready != self.declared {
            found.push(deviation(format!(
                "{ready} of {} replicas ready",
                self.declared
            )));
        }
        let service = self.service.state();
        if let Some(mode) = service.block {
            found.push(deviation(format!("network blocked ({})", block_name(mode))));
        }
        for active in service.faults.faults() {
            found.push(deviation(format!(
                "fault {} in place: {}",
                active.id, active.fault
            )));
        }
        if let Some(error) = self.service.last_error() {
            found.push(deviation(error));
        }
        found
    }

    /// A snapshot for `env status`.
    pub fn status(&self) -> DeploymentStatus {
        let state = self.lock();
        DeploymentStatus {
            desired: state.desired,
            declared: self.declared,
            pods: state.pods.iter().map(PodHandle::status).collect(),
            terminating: state.terminating.iter().map(PodHandle::status).collect(),
            block: self.service.state().block,
            listening: self.service.is_listening(),
            open_connections: self.service.open_connections(),
        }
    }

    /// The last `lines` lines of its pods' logs.
    pub fn log_tail(&self, lines: usize) -> Vec<String> {
        self.template.log.tail(lines)
    }

    /// Stops every pod (SIGTERM, SIGKILL after the grace period) and waits until they are gone.
    pub async fn shutdown(&self) {
        self.service.set_block(Some(BlockMode::Refuse));
        let mut pods: Vec<PodHandle> = {
            let mut state = self.lock();
            state.desired = 0;
            let mut all: Vec<PodHandle> = state.pods.drain(..).collect();
            all.append(&mut state.terminating);
            all
        };
        for pod in &pods {
            pod.terminate();
        }
        for pod in &mut pods {
            pod.finished().await;
        }
        if let Some(task) = self
            .refresher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }

    /// SIGKILLs every pod now, for drop paths.
    pub fn kill_now(&self) {
        let state = self.lock();
        state
            .pods
            .iter()
            .chain(&state.terminating)
            .for_each(PodHandle::kill_now);
    }

    fn refresh(&self) {
        let mut state = self.lock();
        self.refresh_locked(&mut state);
    }

    /// Forgets pods that are gone and points the service at the ready ones.
    fn refresh_locked(&self, state: &mut State) {
        state
            .terminating
            .retain(|p| p.status().phase != Phase::Gone);
        let endpoints = state
            .pods
            .iter()
            .map(PodHandle::status)
            .filter(|s| s.ready)
            .map(|s| s.port)
            .collect();
        self.service.set_endpoints(endpoints);
        self.generation.send_modify(|g| *g += 1);
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        if let Some(task) = self
            .refresher
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

async fn refresh_loop(deployment: Weak<Deployment>, changed: Arc<Notify>) {
    loop {
        changed.notified().await;
        match deployment.upgrade() {
            Some(d) => d.refresh(),
            None => return,
        }
    }
}

fn describe_unready(s: &PodStatus) -> String {
    let mut text = format!("{}: {}", s.name, s.phase);
    if let Some(exit) = &s.last_exit {
        text.push_str(&format!(", last exit: {exit}"));
    }
    if s.phase == Phase::Running
        && let Some(check) = &s.last_check
    {
        text.push_str(&format!(", readiness: {check}"));
    }
    text
}
