//! The orchestrated jobs: streaming tasks inside the server.
//!
//! A job holds a stream slot (its `stream_port` is `stream_base_port + slot`), bound when it
//! starts and served by its gRPC data stream ([`crate::stream`]) until `DELETE /job/{id}` or
//! shutdown. At most `--max-jobs` run at once; a job started under the id of a running one
//! replaces it (a reconfigure of the same task). Finished jobs stay listed, in a bounded
//! history, with their final state.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;

use crate::db::records::JobRecord;
use crate::stream::{BoundPort, JobStreams, StreamPlan};

/// How many finished jobs `/jobs` remembers.
pub const FINISHED_HISTORY: usize = 1000;

/// A job as `/jobs` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSummary {
    /// The job id.
    pub job_id: String,
    /// The task id.
    pub task_id: String,
    /// `"0"`, `"1"` or `"2"`.
    pub view_type: String,
    /// `running`, `stopped`, `replaced` or `failed`.
    pub state: String,
    /// RFC 3339.
    pub created_at: String,
}

#[derive(Debug)]
struct RunningJob {
    record: JobRecord,
    body: Value,
    slot: usize,
    stop: watch::Sender<bool>,
}

#[derive(Debug, Default)]
struct Inner {
    running: HashMap<String, RunningJob>,
    finished: VecDeque<JobSummary>,
    free_slots: VecDeque<usize>,
    next_slot: usize,
}

/// How many slots a start tries when their ports are busy (held by another process, or by a
/// just-stopped job whose server is still closing).
const BIND_ATTEMPTS: usize = 8;

/// Where jobs serve their data streams: `ip`, port `base + slot`.
#[derive(Debug, Clone, Copy)]
pub struct StreamPorts {
    /// The address to bind.
    pub ip: IpAddr,
    /// The port of slot 0.
    pub base: u16,
}

/// Why a job could not start.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StartError {
    /// All slots are taken.
    #[error(
        "no free stream slot: {0} jobs are running (--max-jobs); stop one with DELETE /job/{{job_id}}"
    )]
    NoSlot(usize),
    /// The free slots' stream ports could not be bound.
    #[error(
        "cannot listen on the job's stream port {port}: {reason}; free the ports from --stream-base-port up, or choose another base"
    )]
    Port {
        /// The last port tried.
        port: u32,
        /// The bind error.
        reason: String,
    },
}

/// The running jobs and the recent finished ones.
#[derive(Debug)]
pub struct JobRegistry {
    inner: Mutex<Inner>,
    max_jobs: usize,
    ports: Option<StreamPorts>,
}

impl JobRegistry {
    /// An empty registry allowing `max_jobs` at once.
    pub fn new(max_jobs: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            max_jobs,
            ports: None,
        }
    }

    /// The same registry, serving each job's data streams on `ports` (without, jobs bind
    /// nothing: unit tests).
    pub fn serving_streams(mut self, ports: StreamPorts) -> Self {
        self.ports = Some(ports);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a job for `record`, streaming `plan`, and returns its stream slot, and the
    /// record of the job it replaced (state `replaced`), if any. Must be called inside a
    /// tokio runtime.
    pub fn start(
        &self,
        record: JobRecord,
        body: Value,
        plan: StreamPlan,
    ) -> Result<(usize, Option<JobRecord>), StartError> {
        let mut inner = self.lock();
        let replaced = inner
            .running
            .remove(&record.job_id)
            .map(|old| finish(&mut inner, old, "replaced"));
        let (slot, bound) = self.claim_slot(&mut inner)?;
        let (stop, stopped) = watch::channel(false);
        if let Some(bound) = bound {
            let streams = JobStreams::new(plan.clock, plan.streams, stopped.clone());
            bound.serve(streams, stopped);
        }
        inner.running.insert(
            record.job_id.clone(),
            RunningJob {
                record,
                body,
                slot,
                stop,
            },
        );
        Ok((slot, replaced))
    }

    /// A free slot whose stream port binds (oldest freed first, then new ones), trying at
    /// most [`BIND_ATTEMPTS`] slots; busy ones go back to the end of the free list.
    fn claim_slot(&self, inner: &mut Inner) -> Result<(usize, Option<BoundPort>), StartError> {
        let mut busy = Vec::new();
        let mut last_error = None;
        let claimed = loop {
            if busy.len() >= BIND_ATTEMPTS {
                break None;
            }
            let slot = match inner.free_slots.pop_front() {
                Some(slot) => slot,
                None if inner.next_slot < self.max_jobs => {
                    inner.next_slot += 1;
                    inner.next_slot - 1
                }
                None => break None,
            };
            match self.bind(slot) {
                Ok(bound) => break Some((slot, bound)),
                Err(e) => {
                    busy.push(slot);
                    last_error = Some(e);
                }
            }
        };
        inner.free_slots.extend(busy);
        match (claimed, last_error) {
            (Some(claimed), _) => Ok(claimed),
            (None, Some(e)) => Err(e),
            (None, None) => Err(StartError::NoSlot(inner.running.len())),
        }
    }

    fn bind(&self, slot: usize) -> Result<Option<BoundPort>, StartError> {
        let Some(ports) = self.ports else {
            return Ok(None);
        };
        let port = u32::from(ports.base).saturating_add(u32::try_from(slot).unwrap_or(u32::MAX));
        let fail = |reason: String| StartError::Port { port, reason };
        let port16 = u16::try_from(port).map_err(|_| fail("past port 65535".into()))?;
        BoundPort::bind(ports.ip, port16)
            .map(Some)
            .map_err(|e| fail(e.to_string()))
    }

    /// Stops `job_id`; its record with state `stopped`, or `None` when no such job runs.
    pub fn stop(&self, job_id: &str) -> Option<JobRecord> {
        let mut inner = self.lock();
        let job = inner.running.remove(job_id)?;
        Some(finish(&mut inner, job, "stopped"))
    }

    /// Records a job that could not start, as `failed`, in the history.
    pub fn note_failed(&self, record: &JobRecord) {
        let mut inner = self.lock();
        push_finished(&mut inner, summary(record, "failed"));
    }

    /// The configure body of a running job.
    pub fn body(&self, job_id: &str) -> Option<Value> {
        self.lock().running.get(job_id).map(|j| j.body.clone())
    }

    /// Running jobs, then finished ones, optionally of one task; oldest first.
    pub fn list(&self, task_id: Option<&str>) -> Vec<JobSummary> {
        let inner = self.lock();
        let mut running: Vec<JobSummary> = inner
            .running
            .values()
            .filter(|j| task_id.is_none_or(|t| j.record.task_id == t))
            .map(|j| summary(&j.record, "running"))
            .collect();
        running.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.job_id.cmp(&b.job_id))
        });
        let finished = inner
            .finished
            .iter()
            .filter(|j| task_id.is_none_or(|t| j.task_id == t))
            .cloned();
        finished.chain(running).collect()
    }

    /// How many jobs run.
    pub fn running(&self) -> usize {
        self.lock().running.len()
    }

    /// Stops every job (shutdown); their records with state `stopped`.
    pub fn stop_all(&self) -> Vec<JobRecord> {
        let mut inner = self.lock();
        let jobs: Vec<RunningJob> = inner.running.drain().map(|(_, job)| job).collect();
        jobs.into_iter()
            .map(|job| finish(&mut inner, job, "stopped"))
            .collect()
    }
}

fn finish(inner: &mut Inner, mut job: RunningJob, state: &str) -> JobRecord {
    let _ = job.stop.send(true);
    inner.free_slots.push_back(job.slot);
    job.record.state = state.to_owned();
    push_finished(inner, summary(&job.record, state));
    job.record
}

fn push_finished(inner: &mut Inner, s: JobSummary) {
    if inner.finished.len() >= FINISHED_HISTORY {
        inner.finished.pop_front();
    }
    inner.finished.push_back(s);
}

fn summary(record: &JobRecord, state: &str) -> JobSummary {
    JobSummary {
        job_id: record.job_id.clone(),
        task_id: record.task_id.clone(),
        view_type: record.view_type.clone(),
        state: state.to_owned(),
        created_at: record.created_at.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::{Cadence, StreamPlan};
    use mongodb::bson::Document;
    use std::sync::Arc;

    fn plan() -> StreamPlan {
        StreamPlan {
            clock: Arc::new(Cadence::new(std::time::Instant::now(), 0.1, None, 0)),
            streams: Vec::new(),
        }
    }

    fn record(job: &str, task: &str) -> JobRecord {
        JobRecord {
            record_id: format!("r-{job}"),
            job_id: job.into(),
            task_id: task.into(),
            view_type: "0".into(),
            state: "running".into(),
            kind: "live".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            window: None,
            request: Document::new(),
        }
    }

    #[tokio::test]
    async fn slots_are_bounded_and_reused() {
        let reg = JobRegistry::new(2);
        assert_eq!(reg.start(record("a", "t"), Value::Null, plan()).unwrap().0, 0);
        assert_eq!(reg.start(record("b", "t"), Value::Null, plan()).unwrap().0, 1);
        assert!(matches!(
            reg.start(record("c", "t"), Value::Null, plan()),
            Err(StartError::NoSlot(2))
        ));
        assert_eq!(reg.stop("a").unwrap().state, "stopped");
        assert_eq!(reg.start(record("c", "u"), Value::Null, plan()).unwrap().0, 0);
        assert_eq!(reg.running(), 2);
        assert_eq!(reg.list(Some("u")).len(), 1);
        assert_eq!(
            reg.list(Some("t"))
                .iter()
                .map(|j| j.state.as_str())
                .collect::<Vec<_>>(),
            ["stopped", "running"]
        );
    }

    #[tokio::test]
    async fn a_job_under_a_running_id_replaces_it() {
        let reg = JobRegistry::new(1);
        reg.start(record("task", "task"), Value::from(1), plan()).unwrap();
        let (_, replaced) = reg.start(record("task", "task"), Value::from(2), plan()).unwrap();
        assert_eq!(replaced.unwrap().state, "replaced");
        assert_eq!(reg.body("task"), Some(Value::from(2)));
        assert_eq!(reg.running(), 1);
    }

    #[tokio::test]
    async fn a_busy_stream_port_is_skipped_and_the_job_serves_on_its_own() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = held.local_addr().unwrap().port();
        let ports = StreamPorts {
            ip: [127, 0, 0, 1].into(),
            base,
        };
        let lone = JobRegistry::new(1).serving_streams(ports);
        let err = lone.start(record("a", "t"), Value::Null, plan()).unwrap_err();
        assert!(
            matches!(&err, StartError::Port { port, .. } if *port == u32::from(base)),
            "{err}"
        );
        let reg = JobRegistry::new(4).serving_streams(ports);
        let (slot, _) = reg.start(record("a", "t"), Value::Null, plan()).unwrap();
        assert_ne!(slot, 0);
        let port = base + slot as u16;
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        reg.stop("a");
    }
}
