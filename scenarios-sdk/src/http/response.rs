//! [`HttpResponse`]: one HTTP exchange, as the host measured it.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Failure;
use crate::bindings::focus::scenario::http as wit;

/// One HTTP exchange, as measured by the host: status, headers, body and the time of this one
/// attempt.
///
/// ```no_run
/// use scenarios_sdk::Request;
///
/// let response = Request::get("focus-server", "/health").send().unwrap();
/// println!("{} answered {} after {:?}", response.request(), response.status(), response.elapsed());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    request: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    text: String,
    elapsed: Duration,
}

impl HttpResponse {
    /// A response made by hand, for testing helpers and assertions off the host.
    ///
    /// ```
    /// use scenarios_sdk::{HttpResponse, ms};
    ///
    /// let response = HttpResponse::new("GET /ready", 200, "{}", ms(3));
    /// assert!(response.is_success());
    /// ```
    pub fn new(
        request: impl Into<String>,
        status: u16,
        body: impl Into<Vec<u8>>,
        elapsed: Duration,
    ) -> Self {
        let body = body.into();
        HttpResponse {
            request: request.into(),
            status,
            headers: Vec::new(),
            text: String::from_utf8_lossy(&body).into_owned(),
            body,
            elapsed,
        }
    }

    /// The same response with one more header (its name in lower case).
    ///
    /// ```
    /// use scenarios_sdk::{HttpResponse, secs};
    ///
    /// let response = HttpResponse::new("POST /configure", 503, "{}", secs(0))
    ///     .with_header("Retry-After", "1");
    /// assert_eq!(response.header("retry-after"), Some("1"));
    /// assert_eq!(response.retry_after(), Some(secs(1)));
    /// ```
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// What was asked, for messages: for example `POST /configure?task_id=t1`.
    ///
    /// ```
    /// use scenarios_sdk::{HttpResponse, ms};
    ///
    /// assert_eq!(HttpResponse::new("GET /ready", 200, "", ms(1)).request(), "GET /ready");
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

    /// Whether the status is 2xx.
    ///
    /// ```no_run
    /// let up = scenarios_sdk::get("/ack").unwrap().is_success();
    /// ```
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The headers in order, names in lower case.
    ///
    /// ```no_run
    /// for (name, value) in scenarios_sdk::get("/ack").unwrap().headers() {
    ///     println!("{name}: {value}");
    /// }
    /// ```
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first header called `name` (any case), if any.
    ///
    /// ```no_run
    /// let kind = scenarios_sdk::get("/metrics").unwrap().header("content-type").map(str::to_string);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    ///
    /// ```no_run
    /// println!("{}", scenarios_sdk::get("/health").unwrap().text());
    /// ```
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The body as bytes.
    ///
    /// ```no_run
    /// let size = scenarios_sdk::get("/metrics").unwrap().bytes().len();
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body parsed as JSON into `T` (a [`serde_json::Value`], or any `Deserialize` type);
    /// a [`Failure`] naming the request and showing the body when it does not parse.
    ///
    /// ```no_run
    /// use scenarios_sdk::prelude::*;
    ///
    /// fn database_state() -> Outcome {
    ///     let health: Value = get("/health")?.json()?;
    ///     info!("database: {}", health["database"]);
    ///     Ok(())
    /// }
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Failure> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Failure::new(format!(
                "{} answered {} with a body that is not the JSON expected: {e}",
                self.request, self.status
            ))
            .with_detail(format!("response body: {}", self.text))
        })
    }

    /// The `"error"` field of a JSON error body, such as
    /// `database unavailable: no writable server`; `None` when there is none.
    ///
    /// ```
    /// use scenarios_sdk::{HttpResponse, ms};
    ///
    /// let response = HttpResponse::new("POST /configure", 503, r#"{"error":"database unavailable"}"#, ms(2));
    /// assert_eq!(response.error_message().as_deref(), Some("database unavailable"));
    /// ```
    pub fn error_message(&self) -> Option<String> {
        let body: Value = serde_json::from_slice(&self.body).ok()?;
        body.get("error")?.as_str().map(str::to_string)
    }

    /// The time from sending the request to the end of the body, of this one attempt.
    ///
    /// ```no_run
    /// use scenarios_sdk::annotate_secs;
    ///
    /// let response = scenarios_sdk::get("/ack").unwrap();
    /// annotate_secs("ack_time_s", response.elapsed());
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The `Retry-After` header, when the server sent one in seconds (`3`, or `1.5`).
    ///
    /// ```no_run
    /// let response = scenarios_sdk::configure("t1", "{}").unwrap();
    /// let wait = response.retry_after().unwrap_or(scenarios_sdk::secs(1));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        let seconds: f64 = self.header("retry-after")?.trim().parse().ok()?;
        (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
    }
}

impl From<wit::Response> for HttpResponse {
    fn from(response: wit::Response) -> Self {
        HttpResponse {
            request: response.request,
            status: response.status,
            headers: response.headers,
            text: String::from_utf8_lossy(&response.body).into_owned(),
            body: response.body,
            elapsed: Duration::from_nanos(response.elapsed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_ignores_dates_and_negatives() {
        let at = |v: &str| {
            HttpResponse::new("GET /", 503, "", Duration::ZERO).with_header("retry-after", v)
        };
        assert_eq!(at(" 1.5 ").retry_after(), Some(Duration::from_millis(1500)));
        assert_eq!(at("Wed, 21 Oct 2015 07:28:00 GMT").retry_after(), None);
        assert_eq!(at("-1").retry_after(), None);
    }

    #[test]
    fn a_body_that_is_not_json_is_a_failure_showing_it() {
        let response = HttpResponse::new("GET /health", 200, "<html>", Duration::ZERO);
        let failure = response.json::<Value>().unwrap_err();
        assert!(
            failure
                .message()
                .starts_with("GET /health answered 200 with a body")
        );
        assert_eq!(failure.detail(), Some("response body: <html>"));
    }
}
