//! HTTP to the environment's declared HTTP services: one shared client that sends exactly one
//! attempt per call and measures it, the contract 0.2 `http` imports over it (`send` and
//! `on-rollback`), and the request a rollback step sends.

use std::time::{Duration, Instant};

use reqwest::{Method, Url};

use super::{ScenarioHost, Undo};
use crate::engine::bindings::v0_2::focus::scenario::http;
use crate::engine::bindings::v0_2::focus::scenario::types::HostError;

/// The longest response body kept; the rest is cut.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

/// The one HTTP client of a run. No connection pooling, no redirects, no proxies and no
/// retries: every call is exactly one request on a new connection, so its elapsed time is that
/// request's time.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    /// In a dry run, the simulated environment that answers instead of the network.
    simulator: Option<std::sync::Arc<dyn crate::env::Environment>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("simulated", &self.simulator.is_some())
            .finish_non_exhaustive()
    }
}

/// One HTTP exchange, as the client measured it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// What was asked: `POST /config/t1`.
    pub request: String,
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, cut at [`MAX_BODY_BYTES`].
    pub body: Vec<u8>,
    /// From sending to the end of the body.
    pub elapsed: Duration,
}

/// Why an exchange got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// No complete answer within the timeout.
    Timeout(String),
    /// Refused, reset, or anything else, with the cause.
    Failed(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout(m) | Self::Failed(m) => f.write_str(m),
        }
    }
}

impl HttpClient {
    /// The client; fails only when reqwest cannot be set up.
    pub fn new() -> Result<Self, String> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            simulator: None,
        })
    }

    /// The same client for a dry run: `env` answers every request
    /// ([`Environment::simulated_answer`](crate::env::Environment::simulated_answer)), and
    /// nothing goes over the network.
    pub fn simulated_by(mut self, env: std::sync::Arc<dyn crate::env::Environment>) -> Self {
        self.simulator = Some(env);
        self
    }

    /// Sends one request and reads the whole answer, within `timeout`.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        headers: &[(String, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Exchange, SendError> {
        let request = format!("{method} {}", path_and_query(&url));
        if let Some(env) = &self.simulator {
            return match env.simulated_answer().await {
                Some(answer) => Ok(Exchange {
                    request,
                    status: answer.status,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: answer.body.into_bytes(),
                    elapsed: Duration::ZERO,
                }),
                None => Err(SendError::Failed(format!(
                    "{request}: the dry run's environment gave no simulated answer"
                ))),
            };
        }
        let mut builder = self.client.request(method, url.clone()).timeout(timeout);
        for (name, value) in headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !body.is_empty() {
            builder = builder.body(body);
        }
        let started = Instant::now();
        let outcome = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, bytes))
        }
        .await;
        let elapsed = started.elapsed();
        match outcome {
            Ok((status, headers, bytes)) => Ok(Exchange {
                request,
                status,
                headers,
                body: bytes[..bytes.len().min(MAX_BODY_BYTES)].to_vec(),
                elapsed,
            }),
            Err(e) if e.is_timeout() => Err(SendError::Timeout(format!(
                "{request} got no complete answer within {}",
                crate::engine::format_duration(timeout)
            ))),
            Err(e) => Err(SendError::Failed(format!(
                "{request} to {}: {}",
                origin(&url),
                describe_error(&e)
            ))),
        }
    }
}

/// Refuses what is not a bare path (`/health?x=1`): a URL, a host (`//h/`), a backslash or a
/// fragment. The error says what to give instead.
pub fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') || path.starts_with("//") || path.contains('\\') || path.contains('#')
    {
        return Err(format!(
            "`{path}` is not a path: give a path such as `/health` (starting with one `/`, no host, no fragment)"
        ));
    }
    Ok(())
}

/// `http://127.0.0.1:5000`: the origin of a URL, for messages.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The URL of `path` (which must start with one `/`) under `base`, refusing anything that
/// would reach another host. The error says what is wrong with the path.
pub fn join(base: &Url, path: &str) -> Result<Url, String> {
    check_path(path)?;
    let root = base.as_str().trim_end_matches('/');
    let url = Url::parse(&format!("{root}{path}"))
        .map_err(|e| format!("`{path}` does not make a valid URL: {e}"))?;
    if url.origin() != base.origin() {
        return Err(format!("`{path}` would leave {}", origin(base)));
    }
    Ok(url)
}

/// `/jobs?task_id=t1`: what a log line shows of a URL.
pub(crate) fn path_and_query(url: &Url) -> String {
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

/// A request to a declared HTTP service, checked, as `send` takes it and a rollback step keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRequest {
    /// The service's declared name.
    pub service: String,
    /// The method.
    pub method: Method,
    /// The path with its query.
    pub path: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body; empty for none.
    pub body: Vec<u8>,
    /// This attempt's own timeout.
    pub timeout: Option<Duration>,
}

impl std::fmt::Display for ServiceRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} on {}", self.method, self.path, self.service)
    }
}

impl ServiceRequest {
    /// The contract's request, with its header names and values checked (`invalid` if not).
    pub(crate) fn from_contract(request: http::Request) -> Result<Self, HostError> {
        let method = match request.method {
            http::Method::Get => Method::GET,
            http::Method::Post => Method::POST,
            http::Method::Put => Method::PUT,
            http::Method::Patch => Method::PATCH,
            http::Method::Delete => Method::DELETE,
            http::Method::Head => Method::HEAD,
            http::Method::Options => Method::OPTIONS,
        };
        for (name, value) in &request.headers {
            let bad_name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err();
            if bad_name || reqwest::header::HeaderValue::from_str(value).is_err() {
                return Err(HostError::Invalid(format!(
                    "header `{name}: {value}` of {method} {} is not a valid HTTP header",
                    request.path
                )));
            }
        }
        Ok(Self {
            service: request.service,
            method,
            path: request.path,
            headers: request.headers,
            body: request.body,
            timeout: request.timeout.map(Duration::from_nanos),
        })
    }
}

type HostResult<T> = wasmtime::Result<Result<T, HostError>>;

impl ScenarioHost {
    /// The URL of `request`: its service must be declared, and declared as an HTTP service
    /// (`not-permitted` if not); its path must be a path (`invalid` if not).
    pub(crate) fn service_url(&self, request: &ServiceRequest) -> Result<Url, HostError> {
        // A URL where a path belongs is invalid whatever the service.
        check_path(&request.path).map_err(HostError::Invalid)?;
        let env = self.allow_service(&request.service)?;
        let base = env.http_url(&request.service).ok_or_else(|| {
            HostError::NotPermitted(format!(
                "service `{}` is not declared as an HTTP service in environment `{}`; HTTP \
                 services are those with an `http GET` readiness (local), `protocol = \"http\"` \
                 (kubernetes) or an entry in `http_services` (memory)",
                request.service,
                env.info().name
            ))
        })?;
        let base = Url::parse(&base).map_err(|e| {
            HostError::Failed(format!(
                "service `{}` has no valid URL `{base}`: {e}",
                request.service
            ))
        })?;
        join(&base, &request.path).map_err(HostError::Invalid)
    }

    /// The shared client, or `not-permitted` while listing.
    fn http_client(&self) -> Result<HttpClient, HostError> {
        self.focus
            .as_ref()
            .map(|f| f.http().clone())
            .ok_or_else(|| {
                HostError::NotPermitted("no environment is open while listing scenarios".into())
            })
    }
}

impl http::Host for ScenarioHost {
    async fn send(&mut self, request: http::Request) -> HostResult<http::Response> {
        let checked = ServiceRequest::from_contract(request).and_then(|r| {
            let url = self.service_url(&r)?;
            Ok((r, url, self.http_client()?))
        });
        let (request, url, client) = match checked {
            Ok(checked) => checked,
            Err(e) => return Ok(Err(e)),
        };
        let limit = request.timeout.unwrap_or(self.limits.http);
        let what = format!(
            "{} {} on {}",
            request.method,
            path_and_query(&url),
            request.service
        );
        let number = self.request_sent(&what);
        let started = std::time::Instant::now();
        let result = self
            .bounded(&what, limit, async {
                client
                    .send(
                        request.method.clone(),
                        url,
                        &request.headers,
                        request.body,
                        limit,
                    )
                    .await
                    .map_err(|e| match e {
                        SendError::Timeout(m) => HostError::Timeout(m),
                        SendError::Failed(m) => HostError::Failed(m),
                    })
            })
            .await;
        let answer = match &result {
            Ok(Ok(r)) => Ok(r.status),
            Ok(Err(e)) => Err(format!("{e:?}")),
            Err(trap) => Err(trap.to_string()),
        };
        let latency = match &result {
            Ok(Ok(r)) => r.elapsed,
            _ => started.elapsed(),
        };
        self.request_answered(number, answer, latency);
        let result = result?;
        let line = match &result {
            Ok(r) => format!("{what} -> {} in {:.3} s", r.status, r.elapsed.as_secs_f64()),
            Err(e) => format!("{what} -> {e:?}"),
        };
        self.note("HOST", line);
        Ok(result.map(|r| http::Response {
            request: r.request,
            status: r.status,
            headers: r.headers,
            body: r.body,
            elapsed: r.elapsed.as_nanos() as u64,
        }))
    }

    async fn on_rollback(&mut self, request: http::Request) -> HostResult<()> {
        let checked = ServiceRequest::from_contract(request).and_then(|r| {
            self.refuse_in_hypothesis("on-rollback")?;
            self.service_url(&r).map(|_| r)
        });
        match checked {
            Ok(request) => {
                self.note("HOST", format!("at rollback: {request}"));
                self.journal.push(Undo::Http(request));
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_the_service() {
        let base = Url::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!(
            join(&base, "/health").unwrap().as_str(),
            "http://127.0.0.1:5000/health"
        );
        assert_eq!(
            join(&base, "/jobs?task_id=a").unwrap().as_str(),
            "http://127.0.0.1:5000/jobs?task_id=a"
        );
        for bad in [
            "health",
            "",
            "//evil.example/x",
            "http://evil.example/",
            "/\\evil",
            "@evil.example/",
            "/x#frag",
        ] {
            assert!(join(&base, bad).is_err(), "{bad} was let through");
        }
    }
}
