//! `GET /jobs`, `GET /metadata/{job_id}`, `DELETE /job/{job_id}`. They read the server's own
//! registry, so they answer during a MongoDB outage too.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::ApiError;
use crate::app::AppState;
use crate::db::records::PendingWrite;
use crate::jobs::JobSummary;

/// `GET /jobs?task_id=T`: running and recently finished jobs, of task `T` or all.
pub async fn list(
    State(app): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Vec<JobSummary>> {
    Json(app.jobs.list(query.get("task_id").map(String::as_str)))
}

/// `GET /metadata/{job_id}`: the configure body of a running job.
pub async fn metadata(
    State(app): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    app.jobs
        .body(&job_id)
        .map(Json)
        .ok_or_else(|| invalid(&job_id))
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

fn invalid(job_id: &str) -> ApiError {
    ApiError::not_found(
        "Invalid job_id",
        json!(format!(
            "no running job has the id {job_id:?}; GET /jobs lists them"
        )),
    )
}
