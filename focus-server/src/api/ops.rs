//! Liveness, readiness, metrics and the static metadata (none of them needs MongoDB).

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::ApiError;
use crate::app::AppState;
use crate::config::Settings;

/// `GET /ack`: `{}`.
pub async fn ack() -> Json<Value> {
    Json(json!({}))
}

/// `GET /health`: always 200 while the process lives, with the database state.
pub async fn health(State(app): State<AppState>) -> Json<Value> {
    let gate = app.db.gate().snapshot();
    Json(json!({
        "status": "ok",
        "database": {
            "state": gate.state,
            "reason": gate.reason,
            "source": gate.source,
            "since_seconds": gate.since_seconds,
            "gate_closes": gate.closes,
            "gate_opens": gate.opens,
            "fail_fast": app.settings.fail_fast,
            "pending_writes": app.pending.len(),
            "pending_writes_dropped": app.pending.dropped(),
            "pending_writes_dead_lettered": app.pending.dead_lettered(),
            "recordings_seeded": app.seeded.load(Ordering::Acquire),
        },
        "jobs_running": app.jobs.running(),
        "uptime_seconds": app.started.elapsed().as_secs_f64(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// `GET /ready`: 200 once the server can serve (see [`crate::App::is_ready`]). A later
/// MongoDB outage does not make it unready (every replica shares the database; restarting
/// them would not help).
pub async fn ready(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    if app.is_ready() {
        return Ok(Json(
            json!({"ready": true, "database": app.db.gate().snapshot().state}),
        ));
    }
    let waiting = if app.settings.seed_recordings {
        "starting: seeding the recordings index (--seed-recordings) once MongoDB answers"
    } else {
        "starting: waiting for the first MongoDB check (at most 3 s)"
    };
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        waiting,
        json!({"database": app.db.gate().snapshot().state}),
    ))
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    let text = app.metrics.render(&app.gauges());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

/// `GET /channels`.
pub async fn channels(State(app): State<AppState>) -> Json<Value> {
    Json(json!({"lowest_channel": 1, "highest_channel": app.settings.channels}))
}

/// `GET /live_metadata`: the fiber and the interrogator, from configuration.
pub async fn live_metadata(State(app): State<AppState>) -> Json<Value> {
    Json(live_metadata_body(&app.settings))
}

/// `GET /sensors`: the sensor (channel) indices, `[0, 1, …, n−1]`.
pub async fn sensors(State(app): State<AppState>) -> Json<Value> {
    let sensors: Vec<u32> = (0..app.settings.channels).collect();
    Json(json!({ "sensors": sensors }))
}

/// The flat recording metadata of `/live_metadata` (also the base of a task's metadata).
pub fn live_metadata_body(s: &Settings) -> Value {
    json!({
        "dx": s.dx,
        "prr": s.prr,
        "fiber_start_meters": s.fiber_start_meters,
        "fiber_length_meters": s.dx * f64::from(s.channels),
        "sw_version": env!("CARGO_PKG_VERSION"),
        "number_of_channels": s.channels,
        "fiber_description": s.fiber_description,
        "num_samples_per_trace": s.channels,
        "dtype": "float32",
    })
}
