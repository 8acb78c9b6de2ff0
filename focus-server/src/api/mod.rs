//! The HTTP API: one router of small handlers, served at `/` and again under `/focus-server/`
//! (the real server sits behind an ingress with that prefix).

mod configure;
mod error;
mod jobs;
mod ops;
mod recordings;
mod waterfall;

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

pub use error::ApiError;

use crate::app::AppState;

/// The path prefix the ingress adds.
pub const PREFIX: &str = "/focus-server";

/// The whole router: every route at `/` and under [`PREFIX`], with metrics and the request
/// backstop on each.
pub fn router(state: AppState) -> Router {
    let api = routes()
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .method_not_allowed_fallback(error::method_not_allowed);
    Router::new()
        .merge(api.clone())
        .nest(PREFIX, api)
        .fallback(error::no_route)
        .with_state(state)
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/ack", get(ops::ack))
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/channels", get(ops::channels))
        .route("/sensors", get(ops::sensors))
        .route("/waterfall/{task_id}/{row_count}", get(waterfall::rows))
        .route("/live_metadata", get(ops::live_metadata))
        .route("/configure", post(configure::configure))
        .route("/config/{task_id}", post(configure::configure_legacy))
        .route("/metadata/{id}", get(jobs::metadata))
        .route("/job/{job_id}", delete(jobs::stop))
        .route("/jobs", get(jobs::list))
        .route("/recordings_in_time_range", post(recordings::in_time_range))
}

/// Counts each request by route and status, times it, and (fail-fast mode) answers 503 when
/// a request outlives the whole-request backstop, whatever it waits for.
async fn track(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let started = Instant::now();
    let response = if app.settings.fail_fast {
        let backstop = app.settings.request_backstop();
        match tokio::time::timeout(backstop, next.run(req)).await {
            Ok(response) => response,
            Err(_) => ApiError::backstop(backstop, &app).into_response(),
        }
    } else {
        next.run(req).await
    };
    app.metrics
        .observe(&route, response.status().as_u16(), started.elapsed());
    response
}
