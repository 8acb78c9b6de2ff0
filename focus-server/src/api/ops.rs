//! Liveness, readiness, metrics and the static metadata (none of them needs MongoDB).

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::ApiError;
use crate::app::AppState;

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
            "recordings_seeded": app.seeded.load(Ordering::Acquire),
        },
        "jobs_running": app.jobs.running(),
        "uptime_seconds": app.started.elapsed().as_secs_f64(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// `GET /ready`: 200 once the server can serve. A MongoDB outage does not make it unready
/// (every replica shares the database; restarting them would not help).
pub async fn ready(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    if app.is_ready() {
        Ok(Json(
            json!({"ready": true, "database": app.db.gate().snapshot().state}),
        ))
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: waiting for the first MongoDB check (at most 3 s)",
            Value::Null,
        ))
    }
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
    let s = &app.settings;
    Json(json!({
        "dx": s.dx,
        "prr": s.prr,
        "fiber_start_meters": s.fiber_start_meters,
        "fiber_length_meters": s.dx * f64::from(s.channels),
        "sw_version": env!("CARGO_PKG_VERSION"),
        "number_of_channels": s.channels,
        "fiber_description": s.fiber_description,
        "num_samples_per_trace": s.channels,
        "dtype": "float32",
    }))
}
