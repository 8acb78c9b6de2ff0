//! Contract 0.1's `focus-server` imports (configure, get, jobs): one HTTP attempt per call,
//! never a retry, timed by the host, against the environment's Focus Server address only,
//! through the run's one [`HttpClient`]. Contract 0.2 has `http` instead; its SDKs build these.

use std::future::Future;
use std::time::Duration;

use reqwest::{Method, Url};
use serde::Deserialize;

use super::ScenarioHost;
use super::http::{Exchange, HttpClient, MAX_BODY_BYTES, SendError, join, path_and_query};
use crate::engine::bindings::v0_1::focus::scenario::focus_server::{
    self, ConfigureRequest, ConfigureRoute, HttpResponse, Job,
};
use crate::engine::bindings::v0_1::focus::scenario::types::HostError;

/// The run's HTTP client and the Focus Server's base URL, for contract 0.1's Focus Server
/// calls; its client serves contract 0.2's `http` too.
#[derive(Clone, Debug)]
pub struct FocusClient {
    http: HttpClient,
    base: Url,
}

impl FocusClient {
    /// A client for `base_url` such as `http://127.0.0.1:5000`.
    pub fn new(base_url: &str) -> Result<Self, String> {
        let base = Url::parse(base_url)
            .map_err(|e| format!("the Focus Server URL `{base_url}` is not a URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(format!(
                "the Focus Server URL `{base_url}` must be http:// or https:// with a host"
            ));
        }
        Ok(Self {
            http: HttpClient::new()?,
            base,
        })
    }

    /// The same client for a dry run: `env` answers every request and nothing is sent.
    pub fn simulated_by(mut self, env: std::sync::Arc<dyn crate::env::Environment>) -> Self {
        self.http = self.http.simulated_by(env);
        self
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The run's one HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The URL of `path` under the base; 0.1 calls a bad path `not-permitted`.
    fn url(&self, path: &str) -> Result<Url, HostError> {
        join(&self.base, path).map_err(|e| {
            HostError::NotPermitted(format!("{e} of the Focus Server at {}", self.base))
        })
    }

    /// Sends one request and reads the whole answer, within `timeout`.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<String>,
        timeout: Duration,
    ) -> Result<HttpResponse, HostError> {
        let (headers, body) = match body {
            Some(body) => (
                vec![("content-type".to_owned(), "application/json".to_owned())],
                body.into_bytes(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        match self.http.send(method, url, &headers, body, timeout).await {
            Ok(exchange) => Ok(response(exchange)),
            Err(SendError::Timeout(m)) => Err(HostError::Timeout(m)),
            Err(SendError::Failed(m)) => Err(HostError::Failed(format!("the Focus Server: {m}"))),
        }
    }
}

/// 0.1's response: the body as text, and `Retry-After` read.
fn response(exchange: Exchange) -> HttpResponse {
    let retry_after = exchange
        .headers
        .iter()
        .find(|(name, _)| name == "retry-after")
        .and_then(|(_, value)| parse_retry_after(value));
    HttpResponse {
        request: exchange.request,
        status: exchange.status,
        body: body_text(&exchange.body),
        elapsed: exchange.elapsed.as_nanos() as u64,
        retry_after: retry_after.map(|d| d.as_nanos() as u64),
    }
}

/// `Retry-After` in seconds (`3`, or `1.5` as some servers send); an HTTP date, or a value
/// past [`durations::MAX`] such as `1e30`, is not kept.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    durations::parse("Retry-After", value, durations::Bounds::DELAY).ok()
}

fn body_text(bytes: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if bytes.len() >= MAX_BODY_BYTES {
        text.push_str("\n[… the rest of the body was not kept]");
    }
    text
}

/// One job as `GET /jobs` lists it.
#[derive(Debug, Deserialize)]
struct JobJson {
    job_id: String,
    task_id: String,
    view_type: serde_json::Value,
    state: String,
    created_at: String,
}

/// Parses the body of `GET /jobs`.
pub fn parse_jobs(body: &str) -> Result<Vec<Job>, String> {
    let jobs: Vec<JobJson> =
        serde_json::from_str(body).map_err(|e| format!("not a JSON array of jobs: {e}"))?;
    Ok(jobs
        .into_iter()
        .map(|j| Job {
            id: j.job_id,
            task_id: j.task_id,
            view_type: match j.view_type {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            },
            state: j.state,
            created_at: j.created_at,
        })
        .collect())
}

type HostResult<T> = wasmtime::Result<Result<T, HostError>>;

impl ScenarioHost {
    fn focus(&self) -> Result<FocusClient, HostError> {
        self.focus.clone().ok_or_else(|| {
            HostError::NotPermitted("no environment is open while listing scenarios".into())
        })
    }
}

impl focus_server::Host for ScenarioHost {
    async fn configure(&mut self, request: ConfigureRequest) -> HostResult<HttpResponse> {
        let focus = match self.focus() {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        let url = match (&request.route, &request.task_id) {
            (ConfigureRoute::Configure, task) => focus.url("/configure").map(|mut url| {
                if let Some(task) = task {
                    url.query_pairs_mut().append_pair("task_id", task);
                }
                url
            }),
            (ConfigureRoute::LegacyConfig, Some(task)) => focus.url("/config").map(|mut url| {
                url.path_segments_mut()
                    .expect("http URL has a path")
                    .push(task);
                url
            }),
            (ConfigureRoute::LegacyConfig, None) => Err(HostError::Failed(
                "the legacy-config route is POST /config/{task-id}: give the request a task id"
                    .into(),
            )),
        };
        let url = match url {
            Ok(url) => url,
            Err(e) => return Ok(Err(e)),
        };
        let limit = self.limits.http;
        let what = format!("POST {}", path_and_query(&url));
        let call = focus.send(Method::POST, url, Some(request.payload), limit);
        self.exchange(&what, limit, call).await
    }

    async fn get(&mut self, path: String) -> HostResult<HttpResponse> {
        let focus = match self.focus() {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        let url = match focus.url(&path) {
            Ok(url) => url,
            Err(e) => return Ok(Err(e)),
        };
        let limit = self.limits.http;
        let what = format!("GET {path}");
        let call = focus.send(Method::GET, url, None, limit);
        self.exchange(&what, limit, call).await
    }

    async fn jobs(&mut self, task_id: String) -> HostResult<Vec<Job>> {
        let focus = match self.focus() {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        let mut url = match focus.url("/jobs") {
            Ok(url) => url,
            Err(e) => return Ok(Err(e)),
        };
        url.query_pairs_mut().append_pair("task_id", &task_id);
        let limit = self.limits.http;
        let what = format!("GET {}", path_and_query(&url));
        let call = focus.send(Method::GET, url, None, limit);
        let response = match self.exchange(&what, limit, call).await? {
            Ok(response) => response,
            Err(e) => return Ok(Err(e)),
        };
        if response.status != 200 {
            let first = crate::engine::one_line(&response.body);
            return Ok(Err(HostError::Failed(format!(
                "{what} answered {}: {first}",
                response.status
            ))));
        }
        Ok(parse_jobs(&response.body).map_err(|e| HostError::Failed(format!("{what}: {e}"))))
    }
}

impl ScenarioHost {
    /// One request to the Focus Server, bounded, with its run events and its log line.
    async fn exchange(
        &mut self,
        what: &str,
        limit: Duration,
        call: impl Future<Output = Result<HttpResponse, HostError>>,
    ) -> HostResult<HttpResponse> {
        let number = self.request_sent(what);
        let started = std::time::Instant::now();
        let result = self.bounded(what, limit, call).await;
        let answer = match &result {
            Ok(Ok(r)) => Ok(r.status),
            Ok(Err(e)) => Err(format!("{e:?}")),
            Err(trap) => Err(trap.to_string()),
        };
        let latency = match &result {
            Ok(Ok(r)) => Duration::from_nanos(r.elapsed),
            _ => started.elapsed(),
        };
        self.request_answered(number, answer, latency);
        let result = result?;
        self.note_response(what, &result);
        Ok(result)
    }

    fn note_response(&mut self, what: &str, result: &Result<HttpResponse, HostError>) {
        let line = match result {
            Ok(r) => format!(
                "{what} -> {} in {:.3} s",
                r.status,
                Duration::from_nanos(r.elapsed).as_secs_f64()
            ),
            Err(e) => format!("{what} -> {e:?}"),
        };
        self.note("HOST", line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 1.5 "),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        for absurd in ["1e30", "1e300", "inf", "NaN", "18446744073709551616"] {
            assert_eq!(parse_retry_after(absurd), None, "{absurd}");
        }
    }

    #[test]
    fn jobs_are_parsed_from_the_interface_shape() {
        let body = r#"[{"job_id": "j1", "task_id": "t1", "view_type": "0", "state": "running", "created_at": "2026-11-24T15:49:31Z"},
                      {"job_id": "j2", "task_id": "t1", "view_type": 2, "state": "stopped", "created_at": "2026-11-24T15:50:00Z"}]"#;
        let jobs = parse_jobs(body).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(
            (jobs[0].id.as_str(), jobs[0].view_type.as_str()),
            ("j1", "0")
        );
        assert_eq!(jobs[1].view_type, "2");
        assert!(
            parse_jobs(r#"{"error": "db down"}"#)
                .unwrap_err()
                .contains("not a JSON array")
        );
    }

    #[test]
    fn paths_cannot_leave_the_focus_server() {
        let client = FocusClient::new("http://127.0.0.1:5000").unwrap();
        assert_eq!(
            client.url("/health").unwrap().as_str(),
            "http://127.0.0.1:5000/health"
        );
        assert_eq!(
            client.url("/jobs?task_id=a").unwrap().as_str(),
            "http://127.0.0.1:5000/jobs?task_id=a"
        );
        for bad in [
            "health",
            "//evil.example/x",
            "http://evil.example/",
            "/\\evil",
            "@evil.example/",
        ] {
            assert!(
                matches!(client.url(bad), Err(HostError::NotPermitted(_))),
                "{bad} was let through"
            );
        }
    }
}
