//! Contract 0.2's `focus-server.watch-stream`: the job's stream address read from the Focus
//! Server (`GET /metadata/{job_id}` answers the configure response's `stream_url` and
//! `stream_port`), then one [`focus_stream_proto::watch`], bounded by the watch's duration
//! plus the operation limit.

use std::net::Ipv4Addr;
use std::time::Duration;

use durations::Bounds;
use reqwest::{Method, Url};
use serde_json::Value;

use super::ScenarioHost;
use super::http::SendError;
use crate::engine::bindings::v0_2::focus::scenario::focus_server;
use crate::engine::bindings::v0_2::focus::scenario::types::{self, HostError};

type HostResult<T> = wasmtime::Result<Result<T, HostError>>;

/// Why a job's stream address could not be found, or may not be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamAddressError {
    /// The metadata lacks `stream_port` (or it is not a port).
    #[error("the metadata of job {job} has no valid `stream_port`: {metadata}")]
    NoPort {
        /// The job.
        job: String,
        /// The metadata, in one line.
        metadata: String,
    },
    /// The stream is neither on this machine nor on the Focus Server's host.
    #[error(
        "the stream of job {job} is at `{host}`, neither on 127.0.0.0/8 nor on the Focus Server's host"
    )]
    Elsewhere {
        /// The job.
        job: String,
        /// The host its metadata announced.
        host: String,
    },
}

/// The `http://host:port` of job `job`'s stream from its metadata (`stream_url`, a host with
/// or without `http://`, and `stream_port`). An empty or `0.0.0.0` host means the Focus
/// Server's own; any other host must be on 127.0.0.0/8 or be the Focus Server's host.
pub fn stream_endpoint(
    focus: &Url,
    job: &str,
    metadata: &Value,
) -> Result<String, StreamAddressError> {
    let port = metadata["stream_port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .ok_or_else(|| StreamAddressError::NoPort {
            job: job.to_owned(),
            metadata: crate::engine::one_line(&metadata.to_string()),
        })?;
    let announced = metadata["stream_url"].as_str().unwrap_or_default();
    let announced = announced
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let focus_host = focus.host_str().unwrap_or_default();
    let host = if announced.is_empty() || announced == "0.0.0.0" {
        focus_host
    } else {
        announced
    };
    let loopback = host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback && host != focus_host {
        return Err(StreamAddressError::Elsewhere {
            job: job.to_owned(),
            host: crate::guest_text::line(host, 256),
        });
    }
    Ok(format!("http://{host}:{port}"))
}

/// A duration as the contract's nanoseconds, saturating.
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// The watcher's report as the contract's `stream-report`.
pub fn report_to_contract(report: focus_stream_proto::StreamReport) -> focus_server::StreamReport {
    focus_server::StreamReport {
        frames: report.frames,
        rows: report.rows,
        first_frame: report.first_frame.map(nanos),
        max_gap: nanos(report.max_gap),
        ended: report.ended,
        error: report.error,
        elapsed: nanos(report.elapsed),
    }
}

impl ScenarioHost {
    /// The stream address of `job`, from `GET /metadata/{job}` on the Focus Server.
    async fn stream_address(&self, job: &str) -> HostResult<String> {
        let Some(focus) = self.focus.clone() else {
            return Ok(Err(HostError::NotPermitted(
                "no environment is open while listing scenarios".into(),
            )));
        };
        let mut url = focus.base().clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("metadata").push(job);
        }
        let what = format!("GET /metadata/{job}");
        let limit = self.limits.http;
        let exchange = self
            .bounded(&what, limit, async {
                focus
                    .http()
                    .send(Method::GET, url, &[], Vec::new(), limit)
                    .await
                    .map_err(|e| match e {
                        SendError::Timeout(m) => HostError::Timeout(m),
                        SendError::Failed(m) => HostError::Failed(format!("the Focus Server: {m}")),
                    })
            })
            .await?;
        let exchange = match exchange {
            Ok(exchange) => exchange,
            Err(e) => return Ok(Err(e)),
        };
        let body = String::from_utf8_lossy(&exchange.body);
        let metadata = match exchange.status {
            200 => serde_json::from_str::<Value>(&body)
                .map_err(|e| HostError::Failed(format!("{what} answered 200 but not JSON: {e}"))),
            404 => Err(HostError::NotFound(format!(
                "{what}: no running job {job} on the Focus Server"
            ))),
            status => Err(HostError::Failed(format!(
                "{what} answered {status}: {}",
                crate::engine::one_line(&body)
            ))),
        };
        Ok(metadata.and_then(|metadata| {
            stream_endpoint(focus.base(), job, &metadata).map_err(|e| match e {
                StreamAddressError::Elsewhere { .. } => HostError::NotPermitted(e.to_string()),
                StreamAddressError::NoPort { .. } => HostError::Failed(e.to_string()),
            })
        }))
    }
}

impl focus_server::Host for ScenarioHost {
    async fn watch_stream(
        &mut self,
        job_id: String,
        stream_id: u32,
        duration: types::Duration,
    ) -> HostResult<focus_server::StreamReport> {
        let checked = durations::from_nanos("duration", duration, Bounds::TIMEOUT)
            .map_err(|e| HostError::Invalid(format!("watch-stream of job {job_id}: {e}")))
            .and_then(|duration| {
                let stream = i32::try_from(stream_id).map_err(|_| {
                    HostError::Invalid(format!("stream id {stream_id} is over {}", i32::MAX))
                })?;
                Ok((duration, stream))
            });
        let (duration, stream) = match checked {
            Ok(checked) => checked,
            Err(e) => return Ok(Err(e)),
        };
        let endpoint = match self.stream_address(&job_id).await? {
            Ok(endpoint) => endpoint,
            Err(e) => return Ok(Err(e)),
        };
        let what = format!(
            "watch stream {stream} of job {job_id} at {endpoint} for {}",
            durations::format(duration)
        );
        self.note("HOST", what.clone());
        let limit = duration.saturating_add(self.limits.operation);
        let report = self
            .bounded(&what, limit, async {
                focus_stream_proto::watch(&endpoint, stream, duration)
                    .await
                    .map_err(|e| HostError::Failed(e.to_string()))
            })
            .await?;
        if let Ok(r) = &report {
            self.note(
                "HOST",
                format!(
                    "stream {stream} of job {job_id}: {} frames, {} rows, max gap {:.3} s{}",
                    r.frames,
                    r.rows,
                    r.max_gap.as_secs_f64(),
                    if r.ended { ", ended" } else { "" }
                ),
            );
        }
        Ok(report.map(report_to_contract))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn focus() -> Url {
        Url::parse("http://127.0.0.1:5000").unwrap()
    }

    #[test]
    fn the_stream_address_comes_from_the_metadata() {
        let at = |metadata: Value| stream_endpoint(&focus(), "j1", &metadata);
        assert_eq!(
            at(json!({"stream_url": "127.0.0.1", "stream_port": 12301})).unwrap(),
            "http://127.0.0.1:12301"
        );
        assert_eq!(
            at(json!({"stream_url": "http://127.0.0.2/", "stream_port": 1})).unwrap(),
            "http://127.0.0.2:1"
        );
        assert_eq!(
            at(json!({"stream_url": "0.0.0.0", "stream_port": 9})).unwrap(),
            "http://127.0.0.1:9"
        );
        let cluster = Url::parse("http://focus.svc:5000").unwrap();
        assert_eq!(
            stream_endpoint(
                &cluster,
                "j1",
                &json!({"stream_url": "focus.svc", "stream_port": 7})
            )
            .unwrap(),
            "http://focus.svc:7"
        );
    }

    #[test]
    fn a_stream_elsewhere_or_without_a_port_is_refused() {
        let at = |metadata: Value| stream_endpoint(&focus(), "j1", &metadata);
        assert!(matches!(
            at(json!({"stream_url": "10.1.2.3", "stream_port": 12300})),
            Err(StreamAddressError::Elsewhere { .. })
        ));
        for metadata in [
            json!({"stream_url": "127.0.0.1"}),
            json!({"stream_url": "127.0.0.1", "stream_port": 70000}),
            json!({"stream_url": "127.0.0.1", "stream_port": "x"}),
        ] {
            assert!(
                matches!(at(metadata.clone()), Err(StreamAddressError::NoPort { .. })),
                "{metadata}"
            );
        }
    }

    #[test]
    fn a_report_converts_figure_by_figure() {
        let r = report_to_contract(focus_stream_proto::StreamReport {
            frames: 5,
            rows: 40,
            first_frame: Some(Duration::from_millis(12)),
            max_gap: Duration::from_millis(300),
            ended: true,
            error: Some("Cancelled: job stopped".into()),
            elapsed: Duration::from_secs(2),
        });
        assert_eq!((r.frames, r.rows), (5, 40));
        assert_eq!(r.first_frame, Some(12_000_000));
        assert_eq!(r.max_gap, 300_000_000);
        assert!(r.ended);
        assert_eq!(r.error.as_deref(), Some("Cancelled: job stopped"));
        assert_eq!(r.elapsed, 2_000_000_000);
    }
}
