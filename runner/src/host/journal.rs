//! The rollback journal: every mutation a scenario makes, with the operation that undoes it,
//! recorded *before* the mutation is attempted, so that an interrupted call is undone too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::http::{HttpClient, SendError, ServiceRequest};
use super::load::RunningLoads;
use crate::env::{Deviation, EnvError, Environment, FaultId};

/// The operation that undoes one mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    /// Undoes a `scale`: sets the replica count back.
    Scale {
        /// The workload.
        workload: String,
        /// Its replica count before the scale.
        replicas: u32,
    },
    /// Undoes a `block-network`.
    Unblock {
        /// The workload.
        workload: String,
    },
    /// Undoes a `delete-pod`: waits for the replacement to be ready.
    WaitReady {
        /// The workload.
        workload: String,
    },
    /// A rollback action the scenario registered with `on-rollback`: one HTTP request. Any
    /// answer under 500 counts as done; a 5xx or no answer is a failed step.
    Http(ServiceRequest),
    /// Undoes an `add-fault`: removes the fault (already gone counts as done).
    RemoveFault {
        /// The workload the fault is in front of.
        workload: String,
        /// The fault's id.
        id: FaultId,
        /// The fault, for the report: `latency 500 ms, downstream, 100 %`.
        fault: String,
    },
    /// Undoes a `start-load`: stops the load if it still runs.
    StopLoad {
        /// The load's id.
        id: u64,
        /// What the load was asked to do.
        description: String,
    },
}

impl std::fmt::Display for Undo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Scale { workload, replicas } => {
                let s = if *replicas == 1 { "" } else { "s" };
                write!(f, "scale {workload} back to {replicas} replica{s}")
            }
            Self::Unblock { workload } => write!(f, "unblock the network of {workload}"),
            Self::WaitReady { workload } => write!(f, "wait until {workload} is ready again"),
            Self::Http(request) => write!(f, "send {request}"),
            Self::RemoveFault {
                workload,
                id,
                fault,
            } => {
                write!(f, "remove fault {id} ({fault}) from {workload}")
            }
            Self::StopLoad { id, description } => write!(f, "stop load {id} ({description})"),
        }
    }
}

/// The mutations of one scenario, oldest first.
#[derive(Debug, Default, Clone)]
pub struct Journal {
    entries: Vec<Undo>,
    /// The loads the scenario started, which `StopLoad` stops; dropping the last clone of the
    /// journal stops those still running.
    pub(crate) loads: RunningLoads,
}

impl Journal {
    /// Records an undo. A scale of a workload that was already scaled in this scenario adds
    /// nothing: the earlier entry, undone later, restores the count from before the scenario,
    /// and undoing the intermediate count first would only add a needless outage.
    pub fn push(&mut self, undo: Undo) {
        if let Undo::Scale { workload, .. } = &undo {
            let scaled_before = self
                .entries
                .iter()
                .any(|e| matches!(e, Undo::Scale { workload: earlier, .. } if earlier == workload));
            if scaled_before {
                return;
            }
        }
        self.entries.push(undo);
    }

    /// Removes the most recent entry equal to `undo` (the scenario undid it itself); whether
    /// there was one.
    pub fn forget(&mut self, undo: &Undo) -> bool {
        match self.entries.iter().rposition(|e| e == undo) {
            Some(at) => {
                self.entries.remove(at);
                true
            }
            None => false,
        }
    }

    /// The `RemoveFault` entry of fault `id`, if it is still to be undone.
    pub fn fault(&self, id: FaultId) -> Option<&Undo> {
        self.entries
            .iter()
            .find(|e| matches!(e, Undo::RemoveFault { id: i, .. } if *i == id))
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The undos, oldest first.
    pub fn entries(&self) -> &[Undo] {
        &self.entries
    }
}

/// One undo step as it was carried out.
#[derive(Debug, Clone)]
pub struct UndoStep {
    /// 1-based position in the order of undoing.
    pub index: usize,
    /// How many steps there are.
    pub count: usize,
    /// What was undone.
    pub undo: Undo,
    /// `Err` with the reason when it did not work; `Ok` with what came back, if anything
    /// (an HTTP step's status).
    pub result: Result<Option<String>, String>,
    /// How long it took.
    pub elapsed: Duration,
}

impl std::fmt::Display for UndoStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (answer, error) = match &self.result {
            Ok(answer) => (answer.as_deref(), None),
            Err(e) => (None, Some(e.as_str())),
        };
        let undo = self.undo.to_string();
        let line = step_line(self.index, self.count, &undo, answer, error, self.elapsed);
        f.write_str(&line)
    }
}

/// The one line of an undo step: `undo 1/2: scale mongodb back to 1 replica: ok (830 ms)`.
pub fn step_line(
    index: usize,
    count: usize,
    undo: &str,
    answer: Option<&str>,
    error: Option<&str>,
    took: Duration,
) -> String {
    let ms = took.as_secs_f64() * 1000.0;
    match (error, answer) {
        (Some(e), _) => format!("undo {index}/{count}: {undo}: FAILED ({ms:.0} ms): {e}"),
        (None, Some(answer)) => format!("undo {index}/{count}: {undo}: ok, {answer} ({ms:.0} ms)"),
        (None, None) => format!("undo {index}/{count}: {undo}: ok ({ms:.0} ms)"),
    }
}

/// Undoes `journal` in reverse against `env` (rollback actions through `http`), each step
/// bounded by `step_timeout`, calling `on_step` as each one ends. Every step is attempted even
/// when one fails.
pub async fn undo_all(
    env: &Arc<dyn Environment>,
    http: &HttpClient,
    journal: &Journal,
    step_timeout: Duration,
    on_step: &mut dyn FnMut(&UndoStep),
) -> Vec<UndoStep> {
    let count = journal.entries.len();
    let mut steps = Vec::with_capacity(count);
    for (i, undo) in journal.entries.iter().rev().enumerate() {
        let started = Instant::now();
        let action = async {
            let done = |r: crate::env::EnvResult<()>| r.map(|()| None).map_err(|e| e.to_string());
            match undo {
                Undo::Scale { workload, replicas } => done(env.scale(workload, *replicas).await),
                Undo::Unblock { workload } => done(env.unblock_network(workload).await),
                Undo::WaitReady { workload } => done(env.wait_ready(workload, step_timeout).await),
                Undo::Http(request) => send_rollback(env, http, request, step_timeout).await,
                Undo::RemoveFault { workload, id, .. } => {
                    match env.remove_fault(workload, *id).await {
                        Err(EnvError::NotFound(_)) => Ok(Some("already removed".to_owned())),
                        other => done(other),
                    }
                }
                Undo::StopLoad { id, .. } => Ok(Some(journal.loads.stop(*id).await)),
            }
        };
        let result = match tokio::time::timeout(step_timeout + Duration::from_secs(1), action).await
        {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!(
                "did not finish within {} s",
                step_timeout.as_secs()
            )),
        };
        let step = UndoStep {
            index: i + 1,
            count,
            undo: undo.clone(),
            result,
            elapsed: started.elapsed(),
        };
        on_step(&step);
        steps.push(step);
    }
    steps
}

/// Sends a rollback action once, within its own timeout and `step_timeout`: `Ok` with the
/// status when it answered under 500.
async fn send_rollback(
    env: &Arc<dyn Environment>,
    http: &HttpClient,
    request: &ServiceRequest,
    step_timeout: Duration,
) -> Result<Option<String>, String> {
    let base = env
        .http_url(&request.service)
        .ok_or_else(|| format!("service `{}` is no longer an HTTP service", request.service))?;
    let base = reqwest::Url::parse(&base).map_err(|e| format!("`{base}` is not a URL: {e}"))?;
    let url = super::http::join(&base, &request.path)?;
    let timeout = request.timeout.unwrap_or(step_timeout).min(step_timeout);
    let exchange = http
        .send(
            request.method.clone(),
            url,
            &request.headers,
            request.body.clone(),
            timeout,
        )
        .await
        .map_err(|e| match e {
            SendError::Timeout(m) | SendError::Failed(m) => m,
        })?;
    let body = String::from_utf8_lossy(&exchange.body);
    let answer = format!("answered {}", exchange.status);
    if exchange.status >= 500 {
        Err(format!("{answer}: {}", crate::engine::one_line(&body)))
    } else {
        Ok(Some(answer))
    }
}

/// Polls `env.deviations()` until there are none or `timeout` passes. `Ok` when steady; else
/// the deviations seen last (or the error that stopped the check).
pub async fn wait_steady(env: &Arc<dyn Environment>, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut interval = Duration::from_millis(5);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let last =
            // Each check gets at least 10 s even when the wait is (nearly) over: one check of a
            // remote environment is an API round trip, and a single check is what a zero wait asks.
            match tokio::time::timeout(remaining.max(Duration::from_secs(10)), env.deviations())
                .await
            {
                Ok(Ok(deviations)) if deviations.is_empty() => return Ok(()),
                Ok(Ok(deviations)) => describe(&deviations),
                Ok(Err(e)) => format!("the steady-state check failed: {e}"),
                Err(_) => "the steady-state check itself did not answer".to_owned(),
            };
        if Instant::now() >= deadline {
            return Err(last);
        }
        tokio::time::sleep(interval.min(deadline.saturating_duration_since(Instant::now()))).await;
        interval = (interval * 2).min(Duration::from_millis(200));
    }
}

/// Deviations in one line: `mongodb: 0 of 1 replicas ready; focus-server: network blocked`.
pub fn describe(deviations: &[Deviation]) -> String {
    deviations
        .iter()
        .map(|d| format!("{}: {}", d.target, d.problem))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale(workload: &str, replicas: u32) -> Undo {
        Undo::Scale {
            workload: workload.to_owned(),
            replicas,
        }
    }

    #[test]
    fn a_second_scale_of_a_workload_keeps_only_the_count_from_before_the_scenario() {
        let mut journal = Journal::default();
        journal.push(scale("mongodb", 1));
        journal.push(Undo::Unblock {
            workload: "mongodb".into(),
        });
        journal.push(scale("mongodb", 0));
        journal.push(scale("focus-server", 2));
        assert_eq!(
            journal.entries(),
            [
                scale("mongodb", 1),
                Undo::Unblock {
                    workload: "mongodb".into()
                },
                scale("focus-server", 2)
            ]
        );
    }

    #[test]
    fn a_fault_removed_early_leaves_the_journal_and_reads_as_what_it_undoes() {
        let fault = |id| Undo::RemoveFault {
            workload: "focus-server".into(),
            id,
            fault: "latency 600 ms, downstream, 100 %".into(),
        };
        let mut journal = Journal::default();
        journal.push(fault(7));
        journal.push(scale("mongodb", 1));
        journal.push(fault(8));
        assert_eq!(journal.fault(8), Some(&fault(8)));
        assert!(journal.forget(&fault(8)));
        assert!(!journal.forget(&fault(8)), "forgotten once only");
        assert_eq!(journal.fault(8), None);
        assert_eq!(journal.entries(), [fault(7), scale("mongodb", 1)]);
        assert_eq!(
            fault(7).to_string(),
            "remove fault 7 (latency 600 ms, downstream, 100 %) from focus-server"
        );
        let load = Undo::StopLoad {
            id: 3,
            description: "GET /health at 20/s for 60 s".into(),
        };
        assert_eq!(
            load.to_string(),
            "stop load 3 (GET /health at 20/s for 60 s)"
        );
    }
}
