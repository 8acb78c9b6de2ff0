//! The Focus Server's HTTP API as the host measures it: [`configure`], [`configure_legacy`],
//! [`get`] and [`jobs`], each answering with an [`HttpResponse`] or a list of [`Job`]s.
//!
//! Every configure call is **exactly one** HTTP attempt, with no retries, and
//! [`HttpResponse::elapsed`] is that attempt's time. A scenario that wants retries writes them.

use std::fmt::Display;
use std::time::Duration;

use serde_json::Value;

use crate::bindings::focus::scenario::focus_server as wit;
use crate::error::host;
use crate::{Failure, HostError};

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
/// use scenarios_sdk::{ConfigureRequest, ConfigureRoute};
///
/// // A configure without a task id: the job id is the task id.
/// let response = ConfigureRequest::new(ConfigureRoute::Configure, r#"{"view_type": "0"}"#)
///     .send()
///     .unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigureRequest {
    route: ConfigureRoute,
    task_id: Option<String>,
    payload: String,
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

    /// Sends the request: one HTTP attempt, no retries. Any HTTP status is an `Ok`; a
    /// [`HostError::Timeout`] when the host's own deadline passes first.
    ///
    /// ```no_run
    /// use scenarios_sdk::{ConfigureRequest, ConfigureRoute};
    ///
    /// let response = ConfigureRequest::new(ConfigureRoute::Configure, "{}").task_id("t1").send().unwrap();
    /// ```
    pub fn send(&self) -> Result<HttpResponse, HostError> {
        let request = wit::ConfigureRequest {
            route: match self.route {
                ConfigureRoute::Configure => wit::ConfigureRoute::Configure,
                ConfigureRoute::LegacyConfig => wit::ConfigureRoute::LegacyConfig,
            },
            task_id: self.task_id.clone(),
            payload: self.payload.clone(),
        };
        host(wit::configure(&request)).map(HttpResponse::from)
    }
}

/// `POST /configure?task_id=TASK_ID` with `payload`: one attempt, no retries.
///
/// ```no_run
/// use scenarios_sdk::{configure, json};
///
/// let response = configure("t1", json!({
///     "displayInfo": {"height": 1000},
///     "channels": {"min": 1, "max": 50},
///     "view_type": "0",
///     "nfftSelection": 1024,
///     "frequencyRange": {"min": 0, "max": 500},
///     "start_time": null,
///     "end_time": null,
/// })).unwrap();
/// ```
pub fn configure(task_id: &str, payload: impl Display) -> Result<HttpResponse, HostError> {
    ConfigureRequest::new(ConfigureRoute::Configure, payload)
        .task_id(task_id)
        .send()
}

/// `POST /config/TASK_ID` with `payload`, the legacy route of the P0 ticket: one attempt, no
/// retries.
///
/// ```no_run
/// let response = scenarios_sdk::configure_legacy("test_task", r#"{"canvasInfo": {"height": 1000}}"#).unwrap();
/// ```
pub fn configure_legacy(task_id: &str, payload: impl Display) -> Result<HttpResponse, HostError> {
    ConfigureRequest::new(ConfigureRoute::LegacyConfig, payload)
        .task_id(task_id)
        .send()
}

/// Sends one `GET` to a path of the Focus Server, such as `/health`, `/ready`, `/jobs`,
/// `/metrics` or `/metadata/{job_id}`. The path must start with `/`.
///
/// ```no_run
/// let health = scenarios_sdk::get("/health").unwrap();
/// ```
pub fn get(path: &str) -> Result<HttpResponse, HostError> {
    host(wit::get(path)).map(HttpResponse::from)
}

/// The jobs the Focus Server orchestrated for `task_id`, so that "nothing was orchestrated"
/// can be asserted.
///
/// ```no_run
/// use scenarios_sdk::{Outcome, ensure, jobs};
///
/// fn nothing_orchestrated(task: &str) -> Outcome {
///     let found = jobs(task)?;
///     ensure!(found.is_empty(), "expected no job for task {task}, found {}", found.len());
///     Ok(())
/// }
/// ```
pub fn jobs(task_id: &str) -> Result<Vec<Job>, HostError> {
    let jobs = host(wit::jobs(task_id))?;
    Ok(jobs.into_iter().map(Job::from).collect())
}

/// One HTTP exchange, as measured by the host.
///
/// ```no_run
/// let response = scenarios_sdk::get("/health").unwrap();
/// println!("{} answered {} after {:?}", response.request(), response.status(), response.elapsed());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    request: String,
    status: u16,
    body: String,
    elapsed: Duration,
    retry_after: Option<Duration>,
}

impl HttpResponse {
    /// A response made by hand, for testing helpers and assertions off the host.
    ///
    /// ```
    /// use scenarios_sdk::{Duration, HttpResponse};
    ///
    /// let response = HttpResponse::new("GET /ready", 200, "{}", Duration::from_millis(3));
    /// assert!(response.is_success());
    /// ```
    pub fn new(
        request: impl Into<String>,
        status: u16,
        body: impl Into<String>,
        elapsed: Duration,
    ) -> Self {
        HttpResponse {
            request: request.into(),
            status,
            body: body.into(),
            elapsed,
            retry_after: None,
        }
    }

    /// The same response with a `Retry-After`.
    ///
    /// ```
    /// use scenarios_sdk::{Duration, HttpResponse};
    ///
    /// let response = HttpResponse::new("POST /configure", 503, "{}", Duration::ZERO)
    ///     .with_retry_after(Duration::from_secs(1));
    /// assert_eq!(response.retry_after(), Some(Duration::from_secs(1)));
    /// ```
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// What was asked, for messages: for example `POST /config/t1`.
    ///
    /// ```no_run
    /// assert_eq!(scenarios_sdk::get("/ready").unwrap().request(), "GET /ready");
    /// ```
    pub fn request(&self) -> &str {
        &self.request
    }

    /// The HTTP status code.
    ///
    /// ```no_run
    /// let ok = scenarios_sdk::get("/ready").unwrap().status() == 200;
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response body as text.
    ///
    /// ```no_run
    /// println!("{}", scenarios_sdk::get("/health").unwrap().body());
    /// ```
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The body parsed as JSON; a [`Failure`] naming the request and showing the body when it
    /// is not JSON.
    ///
    /// ```no_run
    /// use scenarios_sdk::{Outcome, get};
    ///
    /// fn database_state() -> Outcome {
    ///     let health = get("/health")?.json()?;
    ///     scenarios_sdk::info!("database: {}", health["database"]);
    ///     Ok(())
    /// }
    /// ```
    pub fn json(&self) -> Result<Value, Failure> {
        serde_json::from_str(&self.body).map_err(|e| {
            Failure::new(format!(
                "{} answered {} with a body that is not JSON: {e}",
                self.request, self.status
            ))
            .with_detail(self.body.clone())
        })
    }

    /// The `"error"` field of a JSON error body, such as
    /// `database unavailable: no writable server`; `None` when there is none.
    ///
    /// ```no_run
    /// let response = scenarios_sdk::configure("t1", "{}").unwrap();
    /// if let Some(error) = response.error_message() {
    ///     scenarios_sdk::info!("the server said: {error}");
    /// }
    /// ```
    pub fn error_message(&self) -> Option<String> {
        let body: Value = serde_json::from_str(&self.body).ok()?;
        body.get("error")?.as_str().map(str::to_string)
    }

    /// The time from sending the request to the end of the body, of this one attempt.
    ///
    /// ```no_run
    /// use scenarios_sdk::annotate_secs;
    ///
    /// let response = scenarios_sdk::configure("t1", "{}").unwrap();
    /// annotate_secs("response_time_s", response.elapsed());
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The `Retry-After` header, when the server sent one in seconds.
    ///
    /// ```no_run
    /// let response = scenarios_sdk::configure("t1", "{}").unwrap();
    /// let wait = response.retry_after().unwrap_or(scenarios_sdk::Duration::from_secs(1));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether the status is 2xx.
    ///
    /// ```no_run
    /// let up = scenarios_sdk::get("/ack").unwrap().is_success();
    /// ```
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl From<wit::HttpResponse> for HttpResponse {
    fn from(response: wit::HttpResponse) -> Self {
        HttpResponse {
            request: response.request,
            status: response.status,
            body: response.body,
            elapsed: Duration::from_nanos(response.elapsed),
            retry_after: response.retry_after.map(Duration::from_nanos),
        }
    }
}

/// One orchestrated job, as `GET /jobs` lists it.
///
/// ```no_run
/// for job in scenarios_sdk::jobs("t1").unwrap() {
///     println!("{} {} {}", job.id(), job.state(), job.created_at());
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    id: String,
    task_id: String,
    view_type: String,
    state: String,
    created_at: String,
}

impl Job {
    /// The job id.
    ///
    /// ```no_run
    /// let ids: Vec<String> = scenarios_sdk::jobs("t1").unwrap().iter().map(|j| j.id().to_string()).collect();
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The task id the job was configured under.
    ///
    /// ```no_run
    /// let job = &scenarios_sdk::jobs("t1").unwrap()[0];
    /// assert_eq!(job.task_id(), "t1");
    /// ```
    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// The view type: `0` multichannel, `1` single channel, `2` waterfall.
    ///
    /// ```no_run
    /// let view = scenarios_sdk::jobs("t1").unwrap()[0].view_type().to_string();
    /// ```
    pub fn view_type(&self) -> &str {
        &self.view_type
    }

    /// The job's state, for example `running`, `stopped` or `failed`.
    ///
    /// ```no_run
    /// let running = scenarios_sdk::jobs("t1").unwrap().iter().all(|j| j.state() == "running");
    /// ```
    pub fn state(&self) -> &str {
        &self.state
    }

    /// When the job was created, RFC 3339.
    ///
    /// ```no_run
    /// println!("{}", scenarios_sdk::jobs("t1").unwrap()[0].created_at());
    /// ```
    pub fn created_at(&self) -> &str {
        &self.created_at
    }
}

impl From<wit::Job> for Job {
    fn from(job: wit::Job) -> Self {
        Job {
            id: job.id,
            task_id: job.task_id,
            view_type: job.view_type,
            state: job.state,
            created_at: job.created_at,
        }
    }
}
