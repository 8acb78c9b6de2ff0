//! HTTP to the services the environment declares, by name: build a [`Request`], [`send`] it
//! once and read the [`HttpResponse`], or register it with [`on_rollback`] to be sent after
//! the scenario.
//!
//! A scenario names a service (such as `focus-server`) and a path, never a URL: the host
//! knows where the service is, and refuses undeclared services with
//! [`HostError::NotPermitted`].
//!
//! **Every send is exactly one attempt**: no retries, no redirects followed, and
//! [`HttpResponse::elapsed`] is that attempt's time. **Any HTTP status is an `Ok`**, a 503
//! included. **A refused or reset connection, or no answer in time, is a host error, not a
//! status**: [`HostError::Failed`] or [`HostError::Timeout`], which `?` turns into an error of
//! the run. To wait for a service that may refuse connections for a while (a restarting pod),
//! treat those two kinds as "not yet" inside [`wait_until`](crate::wait_until):
//!
//! ```no_run
//! use scenarios_sdk::prelude::*;
//!
//! fn wait_for_ready() -> Outcome {
//!     wait_until("the Focus Server to answer /ready with 200", secs(30), ms(200), || {
//!         match Request::get("focus-server", "/ready").send() {
//!             Ok(response) => Ok(response.status() == 200),
//!             // Refused or silent while it restarts: not yet.
//!             Err(error) if error.is_transport() => Ok(false),
//!             Err(other) => Err(other.into()),
//!         }
//!     })?;
//!     Ok(())
//! }
//! ```

mod response;

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::HostError;
use crate::bindings::focus::scenario::http as wit;
use crate::error::host;
use crate::time::duration_to_nanos;

pub use response::HttpResponse;

/// The request method.
///
/// ```
/// assert_eq!(scenarios_sdk::Method::Delete.to_string(), "DELETE");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
    /// `HEAD`.
    Head,
    /// `OPTIONS`.
    Options,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        })
    }
}

impl From<Method> for wit::Method {
    fn from(method: Method) -> Self {
        match method {
            Method::Get => wit::Method::Get,
            Method::Post => wit::Method::Post,
            Method::Put => wit::Method::Put,
            Method::Patch => wit::Method::Patch,
            Method::Delete => wit::Method::Delete,
            Method::Head => wit::Method::Head,
            Method::Options => wit::Method::Options,
        }
    }
}

/// One HTTP request to a declared service: a builder, sent with [`send`](Request::send) or
/// registered for the rollback with [`on_rollback`](Request::on_rollback).
///
/// ```no_run
/// use scenarios_sdk::prelude::*;
///
/// fn stop_job() -> Outcome {
///     let stopped = Request::delete("focus-server", "/job/42").send()?;
///     expect_status(&stopped, 200)?;
///     let found = Request::post("focus-server", "/recordings_in_time_range")
///         .json(&json!({"start_time": 1735689600, "end_time": 1735690200}))
///         .header("x-request-id", "scenario-1")
///         .timeout(secs(3))
///         .send()?;
///     let spans: Vec<[f64; 2]> = found.json()?;
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    service: String,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Option<Duration>,
    /// Why the request cannot be sent, when a builder step failed (a body that does not
    /// serialise); [`send`](Request::send) reports it as [`HostError::Invalid`].
    invalid: Option<String>,
}

impl Request {
    /// A request with `method` to `path` (with its query, starting with `/`) of `service`.
    ///
    /// ```
    /// use scenarios_sdk::{Method, Request};
    ///
    /// let request = Request::new(Method::Put, "focus-server", "/x");
    /// assert_eq!(request.to_string(), "PUT focus-server/x");
    /// ```
    pub fn new(method: Method, service: impl Into<String>, path: impl Into<String>) -> Self {
        Request {
            service: service.into(),
            method,
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
            invalid: None,
        }
    }

    /// A `GET` of `path`.
    ///
    /// ```no_run
    /// let health = scenarios_sdk::Request::get("focus-server", "/health").send().unwrap();
    /// ```
    pub fn get(service: impl Into<String>, path: impl Into<String>) -> Self {
        Self::new(Method::Get, service, path)
    }

    /// A `POST` to `path`; add a body with [`json`](Self::json) or [`body`](Self::body).
    ///
    /// ```
    /// let request = scenarios_sdk::Request::post("focus-server", "/configure");
    /// ```
    pub fn post(service: impl Into<String>, path: impl Into<String>) -> Self {
        Self::new(Method::Post, service, path)
    }

    /// A `PUT` to `path`.
    ///
    /// ```
    /// let request = scenarios_sdk::Request::put("focus-server", "/settings");
    /// ```
    pub fn put(service: impl Into<String>, path: impl Into<String>) -> Self {
        Self::new(Method::Put, service, path)
    }

    /// A `PATCH` to `path`.
    ///
    /// ```
    /// let request = scenarios_sdk::Request::patch("focus-server", "/settings");
    /// ```
    pub fn patch(service: impl Into<String>, path: impl Into<String>) -> Self {
        Self::new(Method::Patch, service, path)
    }

    /// A `DELETE` of `path`.
    ///
    /// ```no_run
    /// let stopped = scenarios_sdk::Request::delete("focus-server", "/job/42").send().unwrap();
    /// ```
    pub fn delete(service: impl Into<String>, path: impl Into<String>) -> Self {
        Self::new(Method::Delete, service, path)
    }

    /// A `HEAD` of `path`.
    ///
    /// ```
    /// let request = scenarios_sdk::Request::head("focus-server", "/ack");
    /// ```
    pub fn head(service: impl Into<String>, path: impl Into<String>) -> Self {
        Self::new(Method::Head, service, path)
    }

    /// An `OPTIONS` of `path`.
    ///
    /// ```
    /// let request = scenarios_sdk::Request::options("focus-server", "/configure");
    /// ```
    pub fn options(service: impl Into<String>, path: impl Into<String>) -> Self {
        Self::new(Method::Options, service, path)
    }

    /// Adds a header; a name may repeat.
    ///
    /// ```
    /// let request = scenarios_sdk::Request::get("focus-server", "/ack").header("accept", "text/plain");
    /// assert_eq!(request.headers()[0], ("accept".to_string(), "text/plain".to_string()));
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body to `value` as JSON, and the `content-type` to `application/json`.
    /// `value` may be a [`serde_json::Value`] (from [`json!`](crate::json)) or any
    /// `Serialize` type. A value that does not serialise makes [`send`](Self::send) answer
    /// [`HostError::Invalid`].
    ///
    /// ```
    /// use scenarios_sdk::{Request, json};
    ///
    /// let request = Request::post("focus-server", "/configure").json(&json!({"view_type": "0"}));
    /// assert_eq!(request.body_bytes(), br#"{"view_type":"0"}"#);
    /// ```
    pub fn json(mut self, value: &impl Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.body = bytes,
            Err(error) => self.invalid = Some(format!("the JSON body does not serialise: {error}")),
        }
        self.set_content_type("application/json")
    }

    /// Sets the body to `bytes`, sent as they are (so invalid payloads can be tested too).
    /// Set a `content-type` with [`header`](Self::header) if the service needs one.
    ///
    /// ```
    /// let request = scenarios_sdk::Request::post("focus-server", "/configure").body("{not json");
    /// assert_eq!(request.body_bytes(), b"{not json");
    /// ```
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = bytes.into();
        self
    }

    /// Bounds this one attempt: a [`HostError::Timeout`] when no complete answer comes within
    /// `limit`. Without it the host's own limit applies.
    ///
    /// ```
    /// use scenarios_sdk::{Request, secs};
    ///
    /// let request = Request::get("focus-server", "/ready").timeout(secs(2));
    /// ```
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// The headers, in order.
    ///
    /// ```
    /// assert!(scenarios_sdk::Request::get("focus-server", "/ack").headers().is_empty());
    /// ```
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body as it will be sent.
    ///
    /// ```
    /// assert!(scenarios_sdk::Request::get("focus-server", "/ack").body_bytes().is_empty());
    /// ```
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }

    /// Sends the request: exactly one attempt, measured by the host. Any HTTP status is an
    /// `Ok`; a refused or reset connection is [`HostError::Failed`], no answer in time
    /// [`HostError::Timeout`], an undeclared service [`HostError::NotPermitted`].
    ///
    /// ```no_run
    /// let ack = scenarios_sdk::Request::get("focus-server", "/ack").send().unwrap();
    /// ```
    pub fn send(&self) -> Result<HttpResponse, HostError> {
        let request = self.to_wit()?;
        host(wit::send(&request)).map(HttpResponse::from)
    }

    /// Registers the request to be sent at rollback, after the scenario, whatever its
    /// outcome: in reverse order together with the runner's own undo steps, once, bounded by
    /// the step timeout, and reported like them. The service is checked now.
    ///
    /// ```no_run
    /// use scenarios_sdk::prelude::*;
    ///
    /// fn with_cleanup() -> Outcome {
    ///     // Whatever happens next, the job is stopped after the scenario.
    ///     Request::delete("focus-server", "/job/42").on_rollback()?;
    ///     Ok(())
    /// }
    /// ```
    pub fn on_rollback(&self) -> Result<(), HostError> {
        let request = self.to_wit()?;
        host(wit::on_rollback(&request))
    }

    fn set_content_type(mut self, value: &str) -> Self {
        self.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
        self.headers.push(("content-type".into(), value.into()));
        self
    }

    fn to_wit(&self) -> Result<wit::Request, HostError> {
        if let Some(why) = &self.invalid {
            return Err(HostError::Invalid(format!("{self}: {why}")));
        }
        Ok(wit::Request {
            service: self.service.clone(),
            method: self.method.into(),
            path: self.path.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            timeout: self.timeout.map(duration_to_nanos),
        })
    }

    /// The contract's form, for the SDK's load generator.
    pub(crate) fn into_wit(self) -> Result<wit::Request, HostError> {
        self.to_wit()
    }
}

impl fmt::Display for Request {
    /// `DELETE focus-server/job/42`, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}{}", self.method, self.service, self.path)
    }
}

/// Sends `request` once; the same as [`Request::send`].
///
/// ```no_run
/// use scenarios_sdk::{Request, send};
///
/// let response = send(&Request::get("focus-server", "/ack")).unwrap();
/// ```
pub fn send(request: &Request) -> Result<HttpResponse, HostError> {
    request.send()
}

/// Registers `request` to be sent at rollback; the same as [`Request::on_rollback`].
///
/// ```no_run
/// use scenarios_sdk::{Request, on_rollback};
///
/// on_rollback(&Request::delete("focus-server", "/job/42")).unwrap();
/// ```
pub fn on_rollback(request: &Request) -> Result<(), HostError> {
    request.on_rollback()
}

/// `text` with every byte outside the unreserved set of RFC 3986 percent-encoded, for a path
/// segment or a query value.
///
/// ```
/// assert_eq!(scenarios_sdk::encode_component("a b/c?"), "a%20b%2Fc%3F");
/// ```
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_sets_one_content_type() {
        let request = Request::post("s", "/p")
            .header("Content-Type", "text/plain")
            .json(&serde_json::json!([1]));
        let types: Vec<_> = request
            .headers()
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .collect();
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].1, "application/json");
    }

    #[test]
    fn a_body_that_does_not_serialise_is_invalid_not_a_panic() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(vec![1u8], 1);
        let request = Request::post("s", "/p").json(&map);
        match request.to_wit() {
            Err(HostError::Invalid(why)) => assert!(why.contains("POST s/p"), "{why}"),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn unicode_is_encoded_by_bytes() {
        assert_eq!(encode_component("é"), "%C3%A9");
        assert_eq!(encode_component("t-1_x.y~"), "t-1_x.y~");
    }
}
