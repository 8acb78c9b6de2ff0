//! The waterfall API: `GET /waterfall/{task_id}/{row_count}` hands out a task's rows, as the
//! real server's waterfall consumer does, and `GET /metadata/{task_id}` (task form) its flat
//! metadata (see [`super::jobs::metadata`]).
//!
//! The rows come from the job's [`RowClock`](crate::jobs::RowClock), the same clock the gRPC
//! stream reads. Each call returns the rows produced since the previous call (at most
//! `row_count`, and at most [`MAX_CELLS`] intensity values), and answers:
//! - 200 with no rows when none is new yet;
//! - 201 with `[{"rows": [...], "current_max_amp", "current_min_amp"}]`;
//! - 208 once the job's analyser has finished: a historic job's playback is over, or the job
//!   was stopped or replaced (rows not read by then are gone with the analyser);
//! - 400 when `row_count` is not an integer above 0;
//! - 404 when no job has that task id.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ApiError;
use crate::app::AppState;
use crate::jobs::{JobView, TaskJob};

/// The most intensity values one answer carries (rows are cut to fit, at least one is sent).
pub const MAX_CELLS: u64 = 250_000;
/// The most rows one answer carries, whatever `row_count` asks.
pub const MAX_ROWS: u64 = 1000;

/// The handler.
pub async fn rows(
    State(app): State<AppState>,
    Path((task_id, row_count)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let count = parse_row_count(&row_count)?;
    let job = match app.jobs.by_task(&task_id) {
        Some(TaskJob::Running(job)) => job,
        Some(TaskJob::Ended(ended)) => return Ok(finished(&task_id, &ended.state)),
        None => {
            return Err(ApiError::not_found(
                "Invalid task_id",
                json!(format!(
                    "no job has the task id {task_id:?}; GET /jobs lists them"
                )),
            ));
        }
    };
    if job.clock.is_finished() {
        return Ok(finished(&task_id, "finished"));
    }
    let produced = job.clock.rows_now();
    let cells_per_row = cells_per_row(&job);
    let budget = (MAX_CELLS / cells_per_row).clamp(1, MAX_ROWS);
    let take = count.min(budget);
    let first = claim(&job, produced, take);
    let last = produced.min(first.saturating_add(take));
    if first >= last {
        return Ok((StatusCode::OK, Json(json!([]))).into_response());
    }
    Ok((StatusCode::CREATED, Json(json!([block(&job, first..last)]))).into_response())
}

/// `row_count`: an integer above 0 (400 otherwise).
fn parse_row_count(text: &str) -> Result<u64, ApiError> {
    match text.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(n as u64),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("row_count: must be an integer greater than 0, got {text:?}"),
            json!({"what_to_try": "GET /waterfall/{task_id}/{row_count} with row_count 1 or more"}),
        )),
    }
}

/// Moves the task's read position forward by at most `take` rows (not past `produced`) and
/// returns where it was.
fn claim(job: &JobView, produced: u64, take: u64) -> u64 {
    let cursor = &job.waterfall_cursor;
    let mut first = cursor.load(Ordering::Acquire);
    loop {
        let next = produced.min(first.saturating_add(take)).max(first);
        match cursor.compare_exchange(first, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return first,
            Err(now) => first = now,
        }
    }
}

fn finished(task_id: &str, state: &str) -> Response {
    (
        StatusCode::ALREADY_REPORTED,
        Json(json!({"task_id": task_id, "state": state, "message": "the analyser has finished"})),
    )
        .into_response()
}

/// Intensity values per sensor per row: one per frequency bin (one for the waterfall view).
fn cells_per_row(job: &JobView) -> u64 {
    let bins = job.figures.frequencies_amount.max(1) as u64;
    (job.figures.channel_amount.max(1) as u64).saturating_mul(bins)
}

/// One data block of rows `range`, with its amplitude range.
fn block(job: &JobView, range: std::ops::Range<u64>) -> Value {
    let bins = job.figures.frequencies_amount.max(1);
    let (lo, hi) = (
        job.figures.stream_channels.first().map_or(1, |r| r.0),
        job.figures.stream_channels.last().map_or(0, |r| r.1),
    );
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let rows: Vec<Value> = range
        .map(|row| {
            let sensors: Vec<Value> = (lo..=hi)
                .map(|channel| {
                    let intensity: Vec<f64> =
                        (0..bins).map(|bin| intensity(row, channel, bin)).collect();
                    for &v in &intensity {
                        (min, max) = (min.min(v), max.max(v));
                    }
                    json!({"id": channel - 1, "intensity": intensity})
                })
                .collect();
            let start = job.clock.row_timestamp_ms(row);
            let end = job.clock.row_timestamp_ms(row + 1).max(start + 1);
            json!({"canvasId": job.task_id, "sensors": sensors, "startTimestamp": start, "endTimestamp": end})
        })
        .collect();
    json!({"rows": rows, "current_max_amp": max, "current_min_amp": min})
}

/// A synthetic intensity in [0, 1): deterministic in (row, channel, bin).
pub fn intensity(row: u64, channel: i64, bin: usize) -> f64 {
    let phase = row as f64 * 0.05 + channel as f64 * 0.3 + bin as f64 * 0.11;
    ((phase.sin() + 1.0) / 2.0 * 1000.0).round() / 1000.0 * 0.999
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_counts_must_be_positive_integers() {
        assert_eq!(parse_row_count("5").unwrap(), 5);
        for bad in ["0", "-3", "x", "1.5", ""] {
            assert!(parse_row_count(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn intensities_stay_in_range() {
        for row in [0, 1, 1000, u64::MAX] {
            let v = intensity(row, 2222, 300);
            assert!((0.0..1.0).contains(&v), "{v}");
        }
    }
}
