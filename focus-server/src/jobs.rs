//! The orchestrated jobs, their row clock and their stop signal.
//!
//! A job holds a stream slot (its `stream_port` is `stream_base_port + slot`, bound when it
//! starts and served by its gRPC data stream, [`crate::stream`], until it ends), its derived
//! figures, the [`RowClock`] that says how many rows it has produced (the waterfall API and the
//! gRPC stream both read it), and a stop signal ([`JobView::stopped`]) that turns `true` on
//! `DELETE /job/{id}`, replacement or shutdown. At most `--max-jobs` hold a slot at once; a
//! historic job whose playback is over keeps its slot (and answers 208 on the waterfall) until it
//! is stopped, or until a new job needs the slot. A job started under the id of a running one
//! replaces it (a reconfigure of the same task). Finished jobs stay listed, in a bounded history,
//! with their final state.

pub mod clock;
mod ports;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;

pub use clock::RowClock;
pub use ports::StreamPorts;

use crate::db::records::JobRecord;
use crate::derive::Derived;
use crate::stream::JobStreams;
use crate::validation::Form;

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
    /// `running`, `finished` (historic playback over), `stopped`, `replaced` or `failed`.
    pub state: String,
    /// RFC 3339.
    pub created_at: String,
}

/// What a new job is made of.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Its record (ids, kind, window).
    pub record: JobRecord,
    /// The configure body as received.
    pub request: Value,
    /// The derived figures.
    pub figures: Derived,
    /// Which configure form started it.
    pub form: Form,
}

/// A running job, as readers see it: a cheap snapshot.
#[derive(Debug, Clone)]
pub struct JobView {
    /// The job id.
    pub job_id: String,
    /// The task id.
    pub task_id: String,
    /// `"0"`, `"1"` or `"2"`.
    pub view_type: String,
    /// Which configure form started it.
    pub form: Form,
    /// Its stream slot.
    pub slot: usize,
    /// The derived figures.
    pub figures: Arc<Derived>,
    /// The configure body as received.
    pub request: Arc<Value>,
    /// The historic window, epoch seconds.
    pub window: Option<(f64, f64)>,
    /// When its rows are produced.
    pub clock: RowClock,
    /// Turns `true` when the job is stopped, replaced or the server shuts down.
    pub stopped: watch::Receiver<bool>,
    /// The next row `GET /waterfall` hands out (the waterfall consumer's read position).
    pub waterfall_cursor: Arc<AtomicU64>,
}

/// A job found by task id.
#[derive(Debug, Clone)]
pub enum TaskJob {
    /// A job holding its slot (its clock says whether its playback is over).
    Running(JobView),
    /// A job that ended: stopped, replaced or failed.
    Ended(JobSummary),
}

/// What [`JobRegistry::start`] did.
#[derive(Debug)]
pub struct Started {
    /// The new job.
    pub view: JobView,
    /// Records of the jobs it ended (a replaced one, finished historic ones whose slot it took),
    /// with their final state, to write.
    pub retired: Vec<JobRecord>,
}

#[derive(Debug)]
struct RunningJob {
    record: JobRecord,
    view: JobView,
    stop: watch::Sender<bool>,
}

#[derive(Debug, Default)]
struct Inner {
    running: HashMap<String, RunningJob>,
    finished: VecDeque<JobSummary>,
    free_slots: VecDeque<usize>,
    next_slot: usize,
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

    /// Starts a job; its clock starts now. A running job of the same id is replaced; when no
    /// slot is free, historic jobs whose playback is over give theirs up.
    pub fn start(&self, job: NewJob) -> Result<Started, StartError> {
        let mut inner = self.lock();
        let mut retired: Vec<JobRecord> = inner
            .running
            .remove(&job.record.job_id)
            .map(|old| finish(&mut inner, old, "replaced"))
            .into_iter()
            .collect();
        if inner.free_slots.is_empty() && inner.next_slot >= self.max_jobs {
            retired.extend(reap_finished(&mut inner));
        }
        let (slot, bound) = self.claim_slot(&mut inner)?;
        let clock = match job.record.window {
            Some(window) => RowClock::historic(job.figures.lines_dt, window),
            None => RowClock::live(job.figures.lines_dt),
        };
        let (stop, stopped) = watch::channel(false);
        let view = JobView {
            job_id: job.record.job_id.clone(),
            task_id: job.record.task_id.clone(),
            view_type: job.record.view_type.clone(),
            form: job.form,
            slot,
            figures: Arc::new(job.figures),
            request: Arc::new(job.request),
            window: job.record.window,
            clock,
            stopped,
            waterfall_cursor: Arc::new(AtomicU64::new(0)),
        };
        if let Some(bound) = bound {
            bound.serve(JobStreams::of_job(&view), view.stopped.clone());
        }
        inner.running.insert(
            job.record.job_id.clone(),
            RunningJob {
                record: job.record,
                view: view.clone(),
                stop,
            },
        );
        Ok(Started { view, retired })
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

    /// A running job by id.
    pub fn get(&self, job_id: &str) -> Option<JobView> {
        self.lock().running.get(job_id).map(|j| j.view.clone())
    }

    /// The newest job of task `task_id`: a running one first, else the last that ended.
    pub fn by_task(&self, task_id: &str) -> Option<TaskJob> {
        let inner = self.lock();
        let running = inner
            .running
            .values()
            .filter(|j| j.record.task_id == task_id)
            .max_by(|a, b| a.view.clock.started().cmp(&b.view.clock.started()));
        if let Some(job) = running {
            return Some(TaskJob::Running(job.view.clone()));
        }
        inner
            .finished
            .iter()
            .rev()
            .find(|j| j.task_id == task_id)
            .cloned()
            .map(TaskJob::Ended)
    }

    /// Running jobs, then finished ones, optionally of one task; oldest first.
    pub fn list(&self, task_id: Option<&str>) -> Vec<JobSummary> {
        let inner = self.lock();
        let now = Instant::now();
        let mut running: Vec<JobSummary> = inner
            .running
            .values()
            .filter(|j| task_id.is_none_or(|t| j.record.task_id == t))
            .map(|j| summary(&j.record, live_state(&j.view, now)))
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

    /// How many jobs hold a slot.
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

/// `running`, or `finished` for a historic job whose playback is over.
fn live_state(view: &JobView, now: Instant) -> &'static str {
    if view.clock.is_finished_at(now) {
        "finished"
    } else {
        "running"
    }
}

/// Ends the historic jobs whose playback is over, freeing their slots.
fn reap_finished(inner: &mut Inner) -> Vec<JobRecord> {
    let now = Instant::now();
    let done: Vec<String> = inner
        .running
        .iter()
        .filter(|(_, j)| j.view.clock.is_finished_at(now))
        .map(|(id, _)| id.clone())
        .collect();
    done.iter()
        .filter_map(|id| inner.running.remove(id))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|job| finish(inner, job, "finished"))
        .collect()
}

fn finish(inner: &mut Inner, job: RunningJob, state: &str) -> JobRecord {
    job.stop.send_replace(true);
    inner.free_slots.push_back(job.view.slot);
    let mut record = job.record;
    record.state = state.to_owned();
    push_finished(inner, summary(&record, state));
    record
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
mod tests;
