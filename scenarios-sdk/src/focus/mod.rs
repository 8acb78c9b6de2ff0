//! The Focus Server's API, built on [`http`](crate::Request): [`configure`],
//! [`configure_legacy`], [`get`] and [`jobs`], the common steady state
//! ([`focus_server_steady_state`]) and the payloads the tickets use ([`payloads`]).
//!
//! Every call is **exactly one** HTTP attempt to the service [`FOCUS_SERVER`], with no
//! retries; [`HttpResponse::elapsed`] is that attempt's time. A scenario that wants retries
//! writes them.
//!
//! **Jobs are cleaned up**: for every configure that answers 200 with a `job_id`, the SDK
//! registers `DELETE /job/{job_id}` for the rollback, so no job a scenario starts outlives it.
//! [`ConfigureRequest::keep_job`] opts out.

mod jobs;
pub mod payloads;
mod steady;

use std::fmt::Display;
use std::time::Duration;

use crate::http::{HttpResponse, Request, encode_component};
use crate::{HostError, warn};

pub use jobs::{Job, jobs};
pub use steady::focus_server_steady_state;

/// The Focus Server's service name in every environment: the `service` of its requests.
pub const FOCUS_SERVER: &str = "focus-server";

/// Which configure route to call.
///
/// ```no_run
/// use scenarios_sdk::{ConfigureRequest, ConfigureRoute};
///
/// let request = ConfigureRequest::new(ConfigureRoute::LegacyConfig, "{}").task_id("test_task");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigureRoute {
    /// `POST /configure`, with `?task_id=` when a task id is given.
    Configure,
    /// `POST /config/{task_id}`: the legacy form of the P0 ticket. Needs a task id.
    LegacyConfig,
}

/// One configure call, for full control; [`configure`] and [`configure_legacy`] cover the
/// usual cases.
///
/// ```no_run
/// use scenarios_sdk::{ConfigureRequest, ConfigureRoute, secs};
///
/// // A configure without a task id, whose job outlives the scenario.
/// let response = ConfigureRequest::new(ConfigureRoute::Configure, r#"{"view_type": "0"}"#)
///     .keep_job()
///     .timeout(secs(10))
///     .send()
///     .unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigureRequest {
    route: ConfigureRoute,
    task_id: Option<String>,
    payload: String,
    keep_job: bool,
    timeout: Option<Duration>,
}

impl ConfigureRequest {
    /// A request to `route` with this JSON body, sent as it is (so invalid payloads can be
    /// tested too). `payload` may be a `&str`, a `String` or a [`serde_json::Value`].
    ///
    /// ```
    /// use scenarios_sdk::{ConfigureRequest, ConfigureRoute, json};
    ///
    /// let request = ConfigureRequest::new(ConfigureRoute::Configure, json!({"view_type": "0"}));
    /// assert_eq!(request.payload(), r#"{"view_type":"0"}"#);
    /// ```
    pub fn new(route: ConfigureRoute, payload: impl Display) -> Self {
        ConfigureRequest {
            route,
            task_id: None,
            payload: payload.to_string(),
            keep_job: false,
            timeout: None,
        }
    }

    /// Names the task the job belongs to; [`jobs`] lists jobs by it.
    ///
    /// ```
    /// use scenarios_sdk::{ConfigureRequest, ConfigureRoute};
    ///
    /// let request = ConfigureRequest::new(ConfigureRoute::Configure, "{}").task_id("t1");
    /// assert_eq!(request.task(), Some("t1"));
    /// ```
    pub fn task_id(mut self, task_id: impl Into<String>) -> Self {
        self.task_id = Some(task_id.into());
        self
    }

    /// Leaves the job running after the scenario: no `DELETE /job/{id}` is registered for the
    /// rollback.
    ///
    /// ```
    /// use scenarios_sdk::{ConfigureRequest, ConfigureRoute};
    ///
    /// let request = ConfigureRequest::new(ConfigureRoute::Configure, "{}").keep_job();
    /// ```
    pub fn keep_job(mut self) -> Self {
        self.keep_job = true;
        self
    }

    /// Bounds the one attempt; the host's own limit when not set.
    ///
    /// ```
    /// use scenarios_sdk::{ConfigureRequest, ConfigureRoute, secs};
    ///
    /// let request = ConfigureRequest::new(ConfigureRoute::Configure, "{}").timeout(secs(30));
    /// ```
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// The task id, if one was given.
    ///
    /// ```
    /// use scenarios_sdk::{ConfigureRequest, ConfigureRoute};
    ///
    /// assert_eq!(ConfigureRequest::new(ConfigureRoute::Configure, "{}").task(), None);
    /// ```
    pub fn task(&self) -> Option<&str> {
        self.task_id.as_deref()
    }

    /// The JSON body as it will be sent.
    ///
    /// ```
    /// use scenarios_sdk::{ConfigureRequest, ConfigureRoute};
    ///
    /// assert_eq!(ConfigureRequest::new(ConfigureRoute::Configure, "{}").payload(), "{}");
    /// ```
    pub fn payload(&self) -> &str {
        &self.payload
    }

    /// The HTTP request this configure sends.
    ///
    /// ```
    /// use scenarios_sdk::{ConfigureRequest, ConfigureRoute};
    ///
    /// let request = ConfigureRequest::new(ConfigureRoute::Configure, "{}").task_id("a b");
    /// assert_eq!(request.request().unwrap().to_string(), "POST focus-server/configure?task_id=a%20b");
    /// let legacy = ConfigureRequest::new(ConfigureRoute::LegacyConfig, "{}").task_id("test_task");
    /// assert_eq!(legacy.request().unwrap().to_string(), "POST focus-server/config/test_task");
    /// ```
    pub fn request(&self) -> Result<Request, HostError> {
        let path = match (self.route, &self.task_id) {
            (ConfigureRoute::Configure, None) => "/configure".to_string(),
            (ConfigureRoute::Configure, Some(task)) => {
                format!("/configure?task_id={}", encode_component(task))
            }
            (ConfigureRoute::LegacyConfig, Some(task)) => {
                format!("/config/{}", encode_component(task))
            }
            (ConfigureRoute::LegacyConfig, None) => {
                return Err(HostError::Invalid(
                    "the legacy configure route is POST /config/{task_id}: give the request a \
                     task id with .task_id(…)"
                        .into(),
                ));
            }
        };
        let mut request = Request::post(FOCUS_SERVER, path)
            .header("content-type", "application/json")
            .body(self.payload.clone());
        if let Some(limit) = self.timeout {
            request = request.timeout(limit);
        }
        Ok(request)
    }

    /// Sends the request: one HTTP attempt, no retries. Any HTTP status is an `Ok`. On a 200
    /// with a `job_id`, registers `DELETE /job/{job_id}` for the rollback unless
    /// [`keep_job`](Self::keep_job) was asked.
    ///
    /// ```no_run
    /// use scenarios_sdk::{ConfigureRequest, ConfigureRoute};
    ///
    /// let response = ConfigureRequest::new(ConfigureRoute::Configure, "{}").task_id("t1").send().unwrap();
    /// ```
    pub fn send(&self) -> Result<HttpResponse, HostError> {
        let response = self.request()?.send()?;
        if response.status() == 200 && !self.keep_job {
            match job_id_in(&response) {
                Some(job) => stop_at_rollback(&job)?,
                None => warn!(
                    "{} answered 200 without a job_id; nothing to stop at rollback",
                    response.request()
                ),
            }
        }
        Ok(response)
    }
}

/// The `job_id` of a configure's JSON answer.
fn job_id_in(response: &HttpResponse) -> Option<String> {
    let body: serde_json::Value = serde_json::from_slice(response.bytes()).ok()?;
    let id = body.get("job_id")?;
    match id {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Registers `DELETE /job/{job_id}` for the rollback.
///
/// ```no_run
/// scenarios_sdk::stop_at_rollback("42").unwrap();
/// ```
pub fn stop_at_rollback(job_id: &str) -> Result<(), HostError> {
    Request::delete(FOCUS_SERVER, format!("/job/{}", encode_component(job_id))).on_rollback()
}

/// `POST /configure?task_id=TASK_ID` with `payload`: one attempt, no retries. A job that
/// starts (200) is stopped at rollback.
///
/// ```no_run
/// use scenarios_sdk::{configure, payloads, unique_task_id};
///
/// let response = configure(&unique_task_id("happy-path"), payloads::historic()).unwrap();
/// ```
pub fn configure(task_id: &str, payload: impl Display) -> Result<HttpResponse, HostError> {
    ConfigureRequest::new(ConfigureRoute::Configure, payload)
        .task_id(task_id)
        .send()
}

/// `POST /config/TASK_ID` with `payload`, the legacy route of the P0 ticket: one attempt, no
/// retries. A job that starts (200) is stopped at rollback.
///
/// ```no_run
/// use scenarios_sdk::payloads::{LEGACY_TICKET_BODY, LEGACY_TICKET_TASK};
///
/// let response = scenarios_sdk::configure_legacy(LEGACY_TICKET_TASK, LEGACY_TICKET_BODY).unwrap();
/// ```
pub fn configure_legacy(task_id: &str, payload: impl Display) -> Result<HttpResponse, HostError> {
    ConfigureRequest::new(ConfigureRoute::LegacyConfig, payload)
        .task_id(task_id)
        .send()
}

/// Sends one `GET` to a path of the Focus Server, such as `/health`, `/ready`, `/jobs`,
/// `/metrics` or `/metadata/{job_id}`. The path starts with `/`.
///
/// ```no_run
/// let health = scenarios_sdk::get("/health").unwrap();
/// ```
pub fn get(path: &str) -> Result<HttpResponse, HostError> {
    Request::get(FOCUS_SERVER, path).send()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_id_is_read_from_a_configure_answer() {
        let answer = |body: &str| HttpResponse::new("POST /configure", 200, body, Duration::ZERO);
        assert_eq!(
            job_id_in(&answer(r#"{"job_id":"j-1"}"#)),
            Some("j-1".into())
        );
        assert_eq!(job_id_in(&answer(r#"{"job_id":7}"#)), Some("7".into()));
        assert_eq!(job_id_in(&answer(r#"{"job_id":""}"#)), None);
        assert_eq!(job_id_in(&answer("not json")), None);
    }

    #[test]
    fn the_legacy_route_needs_a_task() {
        let request = ConfigureRequest::new(ConfigureRoute::LegacyConfig, "{}");
        assert!(matches!(request.request(), Err(HostError::Invalid(_))));
    }
}
