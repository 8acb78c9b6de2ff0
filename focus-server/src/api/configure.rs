//! `POST /configure` and the P0 ticket's legacy `POST /config/{task_id}`.
//!
//! The order is the whole point:
//! 1. validation (422 schema, 400 rules), before any database access;
//! 2. live jobs (no window) start at once; their record waits in the pending queue;
//! 3. historic jobs: the gate (503 at once when closed), the recordings lookup (404 when
//!    none), the record insert with a server-generated id, and only once MongoDB acknowledged
//!    it, the job start (on failure the record is marked `failed`).
//!
//! The historic commit (insert, then start) runs in its own task, so a client that hangs up
//! mid-way cannot leave a record without its job, or a job without its record.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use mongodb::bson::Document;
use serde_json::{Value, json};

use super::ApiError;
use crate::app::{App, AppState};
use crate::db::records::{self, JobRecord, PendingWrite};
use crate::db::{DbError, recordings};
use crate::derive::derive;
use crate::jobs::{JobView, NewJob};
use crate::timefmt::{now_epoch_seconds, rfc3339};
use crate::validation::{ConfigureRequest, Form, check_rules, parse_configure};

/// `POST /configure?task_id=T`: a new job id; the task id is `T`, or the job id when absent.
pub async fn configure(
    State(app): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let job_id = new_id();
    let task_id = query
        .get("task_id")
        .filter(|t| !t.is_empty())
        .cloned()
        .unwrap_or_else(|| job_id.clone());
    run(&app, Form::Modern, job_id, task_id, &body).await
}

/// `POST /config/{task_id}`: the legacy form; the task id names the job, and configuring a
/// task again replaces its running job.
pub async fn configure_legacy(
    State(app): State<AppState>,
    Path(task_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    run(&app, Form::Legacy, task_id.clone(), task_id, &body).await
}

async fn run(
    app: &AppState,
    form: Form,
    job_id: String,
    task_id: String,
    body: &[u8],
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let (req, raw) = parse_configure(body, form)?;
    check_rules(&req, &app.limits())?;
    // Built only once it is needed: a refused historic request costs no derivation.
    let job = |raw: Value| NewJob {
        figures: derive(&req, app.settings.prr),
        record: new_record(&req, &raw, job_id, task_id),
        request: raw,
        form,
    };
    match req.window() {
        None => start_live(app, job(raw)),
        Some((start, end)) => {
            app.db
                .check_gate()
                .map_err(|e| ApiError::database(e, app))?;
            let until = app
                .settings
                .fail_fast
                .then(|| started + app.settings.request_budget());
            let found = recordings::overlapping(&app.db, start, end, until)
                .await
                .map_err(|e| ApiError::database(e, app))?;
            if found.is_empty() {
                return Err(ApiError::not_found(
                    "No recording found in given time range",
                    json!({"start_time": start, "end_time": end, "channels": [req.channel_min, req.channel_max]}),
                ));
            }
            let commit = tokio::spawn(commit_historic(app.clone(), job(raw), until));
            commit.await.unwrap_or_else(|e| {
                Err(ApiError::database(
                    DbError::Failed(format!("the job commit task failed: {e}")),
                    app,
                ))
            })
        }
    }
}

fn start_live(app: &App, job: NewJob) -> Result<Json<Value>, ApiError> {
    let record = job.record.clone();
    let started = app.jobs.start(job).map_err(ApiError::no_slot)?;
    for old in started.retired {
        app.pending.push(PendingWrite::upsert(old));
    }
    let response = success(app, &started.view);
    app.pending.push(PendingWrite::upsert(record));
    Ok(Json(response))
}

async fn commit_historic(
    app: Arc<App>,
    job: NewJob,
    until: Option<Instant>,
) -> Result<Json<Value>, ApiError> {
    let record = job.record.clone();
    if let Err(e) = records::insert(&app.db, &record, until).await {
        if matches!(e, DbError::Unavailable { .. }) {
            // The insert may have landed without its answer reaching us: mark it aborted then.
            app.pending.push(PendingWrite::Abort {
                record_id: record.record_id.clone(),
            });
        }
        return Err(ApiError::database(e, &app));
    }
    match app.jobs.start(job) {
        Ok(started) => {
            for old in started.retired {
                app.pending.push(PendingWrite::upsert(old));
            }
            Ok(Json(success(&app, &started.view)))
        }
        Err(e) => {
            let mut failed = record;
            failed.state = "failed".to_owned();
            app.jobs.note_failed(&failed);
            app.pending.push(PendingWrite::upsert(failed));
            Err(ApiError::no_slot(e))
        }
    }
}

fn new_record(req: &ConfigureRequest, raw: &Value, job_id: String, task_id: String) -> JobRecord {
    JobRecord {
        record_id: new_id(),
        job_id,
        task_id,
        view_type: req.view.as_str().to_owned(),
        state: "running".to_owned(),
        kind: if req.window().is_some() {
            "historic"
        } else {
            "live"
        }
        .to_owned(),
        created_at: rfc3339(now_epoch_seconds() as i64),
        window: req.window(),
        request: mongodb::bson::to_document(raw).unwrap_or_else(|_| Document::new()),
    }
}

/// The configure response of a job; `GET /metadata/{job_id}` answers the same shape.
pub fn success(app: &App, job: &JobView) -> Value {
    let port = u32::from(app.settings.stream_base_port) + job.slot as u32;
    let d = &job.figures;
    json!({
        "status": "success",
        "job_id": job.job_id,
        "frequencies_list": d.frequencies_list,
        "frequencies_amount": d.frequencies_amount,
        "lines_dt": d.lines_dt,
        "channel_to_stream_index": d.channel_to_stream_index,
        "stream_amount": d.stream_amount,
        "channel_amount": d.channel_amount,
        "stream_url": app.settings.stream_host,
        "stream_port": port,
        "view_type": job.view_type,
    })
}

/// A random 128-bit id in the UUID v4 text form.
pub fn new_id() -> String {
    let bits: u128 = rand::random();
    // Version 4 (random), variant 10xx: RFC 9562's layout.
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        bits >> 96,
        (bits >> 80) & 0xffff,
        (bits >> 64) & 0xffff,
        (bits >> 48) & 0xffff,
        bits & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::new_id;

    #[test]
    fn ids_are_random_uuid_v4_text() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        let groups: Vec<&str> = a.split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12], "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{a}");
        assert!(groups[2].starts_with('4'), "version 4: {a}");
        assert!("89ab".contains(&groups[3][..1]), "variant 10xx: {a}");
    }
}
