//! The contract's `focus-server` imports: one HTTP attempt per call, never a retry, timed by
//! the host, against the environment's Focus Server address only.

use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde::Deserialize;

use super::ScenarioHost;
use crate::engine::bindings::focus::scenario::focus_server::{
    self, ConfigureRequest, ConfigureRoute, HttpResponse, Job,
};
use crate::engine::bindings::focus::scenario::types::HostError;

/// The longest response body kept; the rest is cut with a note.
const MAX_BODY_BYTES: usize = 1 << 20;

/// An HTTP client for the Focus Server at one base URL. No connection pooling, no redirects,
/// no proxies and no retries: every call is exactly one request on a new connection, so
/// `elapsed` is that request's time.
#[derive(Clone, Debug)]
pub struct FocusClient {
    http: reqwest::Client,
    base: Url,
}

impl FocusClient {
    /// A client for `base_url` such as `http://127.0.0.1:5000`.
    pub fn new(base_url: &str) -> Result<Self, String> {
        install_crypto_provider();
        let base = Url::parse(base_url)
            .map_err(|e| format!("the Focus Server URL `{base_url}` is not a URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(format!(
                "the Focus Server URL `{base_url}` must be http:// or https:// with a host"
            ));
        }
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self { http, base })
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The URL of `path` (which must start with `/`) under the base, refusing anything that
    /// would reach another host.
    fn url(&self, path: &str) -> Result<Url, HostError> {
        if !path.starts_with('/')
            || path.starts_with("//")
            || path.contains('\\')
            || path.contains('#')
        {
            return Err(HostError::NotPermitted(format!(
                "`{path}` is not a path of the Focus Server: give a path such as `/health` (starting with one `/`)"
            )));
        }
        let base = self.base.as_str().trim_end_matches('/');
        let url = Url::parse(&format!("{base}{path}"))
            .map_err(|e| HostError::Failed(format!("`{path}` does not make a valid URL: {e}")))?;
        if url.origin() != self.base.origin() {
            return Err(HostError::NotPermitted(format!(
                "`{path}` would leave the Focus Server at {}",
                self.base
            )));
        }
        Ok(url)
    }

    /// Sends one request and reads the whole answer, within `timeout`.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<String>,
        timeout: Duration,
    ) -> Result<HttpResponse, HostError> {
        let request = format!("{method} {}", path_and_query(&url));
        let mut builder = self.http.request(method, url).timeout(timeout);
        if let Some(body) = body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let started = Instant::now();
        let outcome = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, retry_after, bytes))
        }
        .await;
        let elapsed = started.elapsed();
        match outcome {
            Ok((status, retry_after, bytes)) => Ok(HttpResponse {
                request,
                status,
                body: body_text(&bytes),
                elapsed: elapsed.as_nanos() as u64,
                retry_after: retry_after.map(|d| d.as_nanos() as u64),
            }),
            Err(e) if e.is_timeout() => Err(HostError::Timeout(format!(
                "{request} got no complete answer within {}",
                crate::engine::format_duration(timeout)
            ))),
            Err(e) => Err(HostError::Failed(format!(
                "{request} to the Focus Server at {}: {}",
                self.base,
                describe_error(&e)
            ))),
        }
    }
}

/// `/jobs?task_id=t1`: what a log line shows of a URL.
fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Installs rustls' ring provider once per process; reqwest is built without one.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// `Retry-After` in seconds (`3`, or `1.5` as some servers send); an HTTP date, or a value
/// past [`durations::MAX`] such as `1e30`, is not kept.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    durations::parse("Retry-After", value, durations::Bounds::DELAY).ok()
}

fn body_text(bytes: &[u8]) -> String {
    if bytes.len() <= MAX_BODY_BYTES {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut text = String::from_utf8_lossy(&bytes[..MAX_BODY_BYTES]).into_owned();
    text.push_str(&format!(
        "\n[… {} more bytes not kept]",
        bytes.len() - MAX_BODY_BYTES
    ));
    text
}

/// What went wrong with a request, in a few words: the innermost cause, which is the one that
/// says what happened ("Connection refused (os error 111)"), with what was being done.
fn describe_error(error: &reqwest::Error) -> String {
    let mut root: &dyn std::error::Error = error;
    while let Some(source) = root.source() {
        root = source;
    }
    let stage = if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else if error.is_request() {
        "sending the request failed"
    } else {
        "failed"
    };
    format!("{stage}: {root}")
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
        let result = self
            .bounded(
                &what,
                limit,
                focus.send(Method::POST, url, Some(request.payload), limit),
            )
            .await?;
        self.note_response(&what, &result);
        Ok(result)
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
        let result = self
            .bounded(&what, limit, focus.send(Method::GET, url, None, limit))
            .await?;
        self.note_response(&what, &result);
        Ok(result)
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
        let response = match self
            .bounded(&what, limit, focus.send(Method::GET, url, None, limit))
            .await?
        {
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
