//! What a load is asked to do, and the bounds it runs under.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, Url};

/// The longest a load may be asked to run: anything longer is refused as invalid.
pub const MAX_LOAD_DURATION: Duration = Duration::from_secs(24 * 3600);

/// The request a load sends, again and again.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    /// The method.
    pub method: Method,
    /// The full URL.
    pub url: Url,
    /// The headers, sent with every request.
    pub headers: HeaderMap,
    /// The body, sent as it is; empty for none.
    pub body: Bytes,
    /// How long one request may take, from connecting to the end of the body.
    pub timeout: Duration,
}

impl RequestTemplate {
    /// `method url` with no headers, no body and a 10 s timeout.
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// How fast requests are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Requests per second, whatever the answers' latency (open model).
    Rate(u32),
    /// Requests in flight, each sent when the one before it ends (closed model).
    Concurrency(u32),
}

/// When a load ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// After this long: no request starts later.
    Duration(Duration),
    /// After this many requests have been sent (or dropped, in the open model).
    Count(u64),
}

/// One load: a request, a pace and an extent.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// The request to send.
    pub request: RequestTemplate,
    /// How fast.
    pub pace: Pace,
    /// How long.
    pub extent: Extent,
}

impl LoadSpec {
    /// Checks the spec against `limits`: a rate or concurrency of 0 or over the ceiling, an
    /// empty or absurd extent, and a zero timeout are refused.
    pub fn validate(&self, limits: &Limits) -> Result<(), LoadError> {
        let invalid = |m: String| Err(LoadError::Invalid(format!("{self}: {m}")));
        match self.pace {
            Pace::Rate(0) | Pace::Concurrency(0) => {
                return invalid("the pace must be more than 0".into());
            }
            Pace::Rate(r) if r > limits.max_rate => {
                return invalid(format!(
                    "{r} requests/s is over the ceiling of {} requests/s (runner.toml [runner] load_max_rate)",
                    limits.max_rate
                ));
            }
            Pace::Concurrency(c) if c > limits.max_in_flight => {
                return invalid(format!(
                    "{c} requests in flight is over the ceiling of {}",
                    limits.max_in_flight
                ));
            }
            _ => {}
        }
        match self.extent {
            Extent::Count(0) => invalid("a count of 0 requests sends nothing".into()),
            Extent::Duration(d) if d.is_zero() || d > MAX_LOAD_DURATION => invalid(format!(
                "a duration of {:.3} s is not between 0 and {} h",
                d.as_secs_f64(),
                MAX_LOAD_DURATION.as_secs() / 3600
            )),
            _ if self.request.timeout.is_zero() => {
                invalid("the request timeout must be more than 0".into())
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for LoadSpec {
    /// For example `POST /configure at 200/s for 10 s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.request;
        write!(f, "{} {}", r.method, r.url.path())?;
        if let Some(query) = r.url.query() {
            write!(f, "?{query}")?;
        }
        match self.pace {
            Pace::Rate(n) => write!(f, " at {n}/s")?,
            Pace::Concurrency(n) => write!(f, " with {n} in flight")?,
        }
        match self.extent {
            Extent::Duration(d) => write!(f, " for {} s", trim(d.as_secs_f64())),
            Extent::Count(n) => write!(f, " for {n} requests"),
        }
    }
}

/// `10` for 10.0, `2.5` for 2.5.
fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The bounds every load runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The highest rate a load may ask for, in requests per second.
    pub max_rate: u32,
    /// The most requests in flight at once (and the highest concurrency).
    pub max_in_flight: u32,
    /// The load ends here whatever its extent (the scenario's deadline).
    pub deadline: Option<Instant>,
}

impl Default for Limits {
    /// 2000 requests/s, 1000 in flight, no deadline.
    fn default() -> Self {
        Self {
            max_rate: 2000,
            max_in_flight: 1000,
            deadline: None,
        }
    }
}

/// Why a load could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The spec is out of range.
    #[error("invalid load {0}")]
    Invalid(String),
    /// The HTTP client could not be built.
    #[error("cannot build the load's HTTP client: {0}")]
    Client(String),
}

/// The HTTP client for loads: connections kept alive and reused (up to `max_idle` per host),
/// no redirects followed, no retries, no proxies. Build one and share it between loads.
pub fn client(max_idle: usize) -> Result<reqwest::Client, LoadError> {
    // reqwest is built without a default TLS provider: ring, installed once (later calls fail
    // harmlessly because one is already installed).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .pool_max_idle_per_host(max_idle)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .no_proxy()
        .tcp_nodelay(true)
        .build()
        .map_err(|e| LoadError::Client(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pace: Pace, extent: Extent) -> LoadSpec {
        let url = Url::parse("http://127.0.0.1:1/configure?task_id=t").unwrap();
        LoadSpec {
            request: RequestTemplate::new(Method::POST, url),
            pace,
            extent,
        }
    }

    #[test]
    fn a_spec_reads_as_what_it_asks() {
        let s = spec(Pace::Rate(200), Extent::Duration(Duration::from_secs(10)));
        assert_eq!(s.to_string(), "POST /configure?task_id=t at 200/s for 10 s");
        let s = spec(Pace::Concurrency(4), Extent::Count(100));
        assert_eq!(
            s.to_string(),
            "POST /configure?task_id=t with 4 in flight for 100 requests"
        );
    }

    #[test]
    fn out_of_range_specs_are_refused_with_the_figure_named() {
        let limits = Limits::default();
        let second = Extent::Duration(Duration::from_secs(1));
        let cases = [
            (spec(Pace::Rate(0), second), "more than 0"),
            (
                spec(Pace::Rate(2001), second),
                "2001 requests/s is over the ceiling of 2000",
            ),
            (
                spec(Pace::Concurrency(5000), second),
                "5000 requests in flight",
            ),
            (spec(Pace::Rate(1), Extent::Count(0)), "a count of 0"),
            (
                spec(Pace::Rate(1), Extent::Duration(Duration::MAX)),
                "not between 0 and 24 h",
            ),
        ];
        for (s, expected) in cases {
            let message = s.validate(&limits).unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
        }
        spec(Pace::Rate(2000), second).validate(&limits).unwrap();
    }
}
