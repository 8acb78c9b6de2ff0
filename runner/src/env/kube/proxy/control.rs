//! The fault proxy's control API, served by `scenario-runner proxy` and called by the
//! Kubernetes backend through a port-forward:
//!
//! - `GET /health`: 200 `{"status": "ok"}`;
//! - `GET /faults`: the faults in place, oldest first, as `[{"id": 7, "fault": {...}}]`;
//! - `PUT /faults/{id}`: adds the fault of the body (a [`Fault`] as JSON) under `id`: 201, or
//!   400 for a body that is not a valid fault, 409 when `id` is already in place;
//! - `DELETE /faults/{id}`: 204, or 404 when no such fault is in place.
//!
//! Bodies are limited to [`MAX_BODY`]; every refusal is JSON `{"error": "..."}`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use fault_proxy::{ActiveFault, Fault, FaultError, FaultId, Proxy};
use serde_json::json;

/// The largest request body the control API reads.
pub const MAX_BODY: usize = 16 * 1024;

/// The routes of the control API over `proxy`.
pub fn router(proxy: Arc<Proxy>) -> Router {
    Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/faults", get(list))
        .route("/faults/{id}", put(add).delete(remove))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(proxy)
}

fn refusal(code: StatusCode, message: impl std::fmt::Display) -> Response {
    (code, axum::Json(json!({ "error": message.to_string() }))).into_response()
}

async fn list(State(proxy): State<Arc<Proxy>>) -> Response {
    axum::Json(proxy.faults()).into_response()
}

async fn add(State(proxy): State<Arc<Proxy>>, Path(id): Path<String>, body: Bytes) -> Response {
    let Ok(id) = id.parse::<FaultId>() else {
        return refusal(
            StatusCode::BAD_REQUEST,
            format!("fault id {id:?} is not a number"),
        );
    };
    let fault: Fault = match serde_json::from_slice(&body) {
        Ok(fault) => fault,
        Err(e) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                format!(
                    "the body is not a fault ({e}); send {{\"kind\": {{\"type\": \"latency\", \
                     \"delay\": {{\"secs\": 1, \"nanos\": 0}}, \"jitter\": {{\"secs\": 0, \
                     \"nanos\": 0}}}}, \"direction\": \"both\", \"toxicity\": 100}}"
                ),
            );
        }
    };
    if proxy.faults().iter().any(|f| f.id == id) {
        return refusal(
            StatusCode::CONFLICT,
            format!("fault {id} is already in place"),
        );
    }
    match proxy.insert_fault(id, fault) {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(e) => refusal(StatusCode::BAD_REQUEST, e),
    }
}

async fn remove(State(proxy): State<Arc<Proxy>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<FaultId>() else {
        return refusal(
            StatusCode::BAD_REQUEST,
            format!("fault id {id:?} is not a number"),
        );
    };
    match proxy.remove_fault(id) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e @ FaultError::NotFound(_)) => refusal(StatusCode::NOT_FOUND, e),
        Err(e) => refusal(StatusCode::BAD_REQUEST, e),
    }
}

/// Why a control call failed: the proxy's refusal, or no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The proxy answered with an error status.
    #[error("the fault proxy at {url} answered {status}: {message}")]
    Refused {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The proxy's `error`, or the body.
        message: String,
    },
    /// No answer (connection refused, timeout, a body that is not JSON).
    #[error("cannot reach the fault proxy at {url}: {message}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// What went wrong.
        message: String,
    },
}

/// A client of one proxy's control API.
#[derive(Debug, Clone)]
pub struct ControlClient {
    base: String,
    http: reqwest::Client,
}

impl ControlClient {
    /// A client of the control API at `base` (`http://127.0.0.1:PORT`), each call bounded by
    /// `timeout`.
    pub fn new(base: impl Into<String>, timeout: Duration) -> Result<Self, ControlError> {
        let base = base.into();
        // reqwest's rustls needs a process-wide crypto provider; ring is the workspace's one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| ControlError::Unreachable {
                url: base.clone(),
                message: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(Self { base, http })
    }

    /// `GET /health` answers 2xx.
    pub async fn health(&self) -> Result<(), ControlError> {
        self.call(self.http.get(format!("{}/health", self.base)))
            .await
            .map(drop)
    }

    /// Adds `fault` under `id`.
    pub async fn add(&self, id: FaultId, fault: &Fault) -> Result<(), ControlError> {
        let url = format!("{}/faults/{id}", self.base);
        self.call(self.http.put(url).json(fault)).await.map(drop)
    }

    /// Removes fault `id`.
    pub async fn remove(&self, id: FaultId) -> Result<(), ControlError> {
        let url = format!("{}/faults/{id}", self.base);
        self.call(self.http.delete(url)).await.map(drop)
    }

    /// The faults in place.
    pub async fn faults(&self) -> Result<Vec<ActiveFault>, ControlError> {
        let url = format!("{}/faults", self.base);
        let body = self.call(self.http.get(&url)).await?;
        serde_json::from_slice(&body).map_err(|e| ControlError::Unreachable {
            url,
            message: format!("the answer is not a list of faults: {e}"),
        })
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Bytes, ControlError> {
        let unreachable = |url: String, e: reqwest::Error| ControlError::Unreachable {
            url,
            message: super::super::probe::reqwest_error(&e),
        };
        let response = request
            .send()
            .await
            .map_err(|e| unreachable(self.base.clone(), e))?;
        let url = response.url().to_string();
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| unreachable(url.clone(), e))?;
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(300).collect());
        Err(ControlError::Refused {
            url,
            status: status.as_u16(),
            message,
        })
    }
}
