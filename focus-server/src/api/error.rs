//! Error responses: `{"error": "<one line>", "detail": …}`, with `Retry-After` on 503s.

use std::time::Duration;

use axum::Json;
use axum::extract::OriginalUri;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::App;
use crate::db::DbError;
use crate::jobs::StartError;
use crate::validation::Rejection;

/// Seconds a client should wait before retrying a 503: the gate reopens within about a
/// second of MongoDB answering again.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    detail: Value,
    retry_after: Option<u64>,
}

impl ApiError {
    /// Any status with a one-line error and a detail.
    pub fn new(status: StatusCode, error: impl Into<String>, detail: Value) -> Self {
        Self {
            status,
            error: error.into(),
            detail,
            retry_after: None,
        }
    }

    /// 404 with `error`.
    pub fn not_found(error: &str, detail: Value) -> Self {
        Self::new(StatusCode::NOT_FOUND, error, detail)
    }

    /// 503 for a database problem, with the gate's state in `detail`.
    pub fn database(e: DbError, app: &App) -> Self {
        match e {
            DbError::Unavailable { reason, detail } => {
                let gate = app.db.gate().snapshot();
                let mut body = json!({
                    "reason": reason,
                    "database": gate.state,
                    "fail_fast": app.settings.fail_fast,
                    "retry_after_seconds": RETRY_AFTER_SECONDS,
                    "nothing_was_started": true,
                });
                if let Some(driver) = detail {
                    body["driver_error"] = Value::String(driver);
                }
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    error: format!("database unavailable: {reason}"),
                    detail: body,
                    retry_after: Some(RETRY_AFTER_SECONDS),
                }
            }
            DbError::Rejected(message) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("body: cannot be stored: {message}"),
                json!({"what_to_try": "remove the field that MongoDB cannot store (a NUL character in a name, a name starting with '$', nesting too deep)"}),
            ),
            DbError::Failed(message) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("database error: {message}"),
                json!({"what_to_try": "check the MongoDB server's log"}),
            ),
        }
    }

    /// 503 from the whole-request backstop.
    pub fn backstop(after: Duration, app: &App) -> Self {
        let reason = format!(
            "no answer within the {:.1} s request deadline",
            after.as_secs_f64()
        );
        Self::database(
            DbError::Unavailable {
                reason,
                detail: None,
            },
            app,
        )
    }

    /// 503 when no job slot is free.
    pub fn no_slot(e: StartError) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: e.to_string(),
            detail: json!({"what_to_try": "stop a job with DELETE /job/{job_id}, or raise --max-jobs"}),
            retry_after: Some(RETRY_AFTER_SECONDS),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let detail: Vec<&str> = r.problems().iter().map(|p| p.0.as_str()).collect();
        Self::new(status, r.message(), json!(detail))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": self.error, "detail": self.detail}));
        match self.retry_after {
            Some(secs) => {
                (self.status, [(header::RETRY_AFTER, secs.to_string())], body).into_response()
            }
            None => (self.status, body).into_response(),
        }
    }
}

/// 404 for a path no route serves.
pub async fn no_route(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::not_found(
        &format!("no route for {method} {}", uri.path()),
        json!(
            "see the API: /ack, /channels, /sensors, /live_metadata, /configure, /config/{task_id}, /jobs, /metadata/{id}, /job/{job_id}, /waterfall/{task_id}/{row_count}, /recordings_in_time_range, /health, /ready, /metrics"
        ),
    )
}

/// 405 for a known path with another method.
pub async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {}", uri.path()),
        Value::Null,
    )
}
