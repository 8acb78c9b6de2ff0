//! `GET /jobs`, `GET /metadata/{id}`, `DELETE /job/{job_id}`. They read the server's own
//! registry, so they answer during a MongoDB outage too.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ApiError;
use super::configure::success;
use super::ops::live_metadata_body;
use crate::app::{App, AppState};
use crate::db::records::PendingWrite;
use crate::jobs::{JobSummary, JobView, TaskJob};
use crate::validation::Form;

/// `GET /jobs?task_id=T`: running and recently finished jobs, of task `T` or all.
pub async fn list(
    State(app): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Vec<JobSummary>> {
    Json(app.jobs.list(query.get("task_id").map(String::as_str)))
}

/// `GET /metadata/{id}`, in two forms:
/// - the id of a running job started by `POST /configure`: 200 with the configure response's
///   shape, the original body under `request`;
/// - a task id (of `POST /config/{task_id}`, or `POST /configure?task_id=`), the waterfall
///   client's form: 201 with a flat metadata object while its job runs, 200 `{}` once it ended.
///
/// Anything else: 404 `Invalid job_id`.
pub async fn metadata(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if let Some(job) = app.jobs.get(&id).filter(|j| j.form == Form::Modern) {
        let mut body = success(&app, &job);
        body["request"] = (*job.request).clone();
        return Ok(Json(body).into_response());
    }
    match app.jobs.by_task(&id) {
        Some(TaskJob::Running(job)) => {
            Ok((StatusCode::CREATED, Json(flat_metadata(&app, &job))).into_response())
        }
        Some(TaskJob::Ended(_)) => Ok(Json(json!({})).into_response()),
        None => Err(invalid(&id)),
    }
}

/// The task form of the metadata: the recording's flat metadata (as `/live_metadata`) and the
/// job's own figures, scalars only.
fn flat_metadata(app: &App, job: &JobView) -> Value {
    let d = &job.figures;
    let mut body = live_metadata_body(&app.settings);
    let extra = json!({
        "task_id": job.task_id,
        "job_id": job.job_id,
        "view_type": job.view_type,
        "state": if job.clock.is_finished() { "finished" } else { "running" },
        "channel_min": d.stream_channels.first().map(|r| r.0),
        "channel_max": d.stream_channels.last().map(|r| r.1),
        "channel_amount": d.channel_amount,
        "stream_amount": d.stream_amount,
        "frequencies_amount": d.frequencies_amount,
        "lines_dt": d.lines_dt,
        "rows_produced": job.clock.rows_now(),
        "start_time": job.window.map(|w| w.0),
        "end_time": job.window.map(|w| w.1),
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

/// `DELETE /job/{job_id}`: stops a running job; its record's new state waits in the queue.
pub async fn stop(
    State(app): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = app.jobs.stop(&job_id).ok_or_else(|| invalid(&job_id))?;
    app.pending.push(PendingWrite::upsert(record));
    Ok(Json(
        json!({"status": "success", "job_id": job_id, "state": "stopped"}),
    ))
}

/// 404 `Invalid job_id`.
pub fn invalid(job_id: &str) -> ApiError {
    ApiError::not_found(
        "Invalid job_id",
        json!(format!(
            "no running job has the id {job_id:?}; GET /jobs lists them"
        )),
    )
}
