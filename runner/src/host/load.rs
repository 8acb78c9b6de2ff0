//! Contract 0.2's `load` imports: a bounded `loadgen` run against a declared HTTP service on
//! this machine, on its own tokio task. A load ends by itself at its extent or at the
//! scenario's deadline; the rollback stops one still running, and dropping the scenario's
//! journal stops any left.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use durations::Bounds;
use loadgen::{Extent, Limits, Load, LoadSpec, Pace, RequestTemplate, TransportError};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::http::ServiceRequest;
use super::windows::WindowKey;
use super::{ScenarioHost, Undo};
use crate::engine::bindings::v0_2::focus::scenario::load;
use crate::engine::bindings::v0_2::focus::scenario::types::HostError;
use crate::run::events::RemovedBy;

type HostResult<T> = wasmtime::Result<Result<T, HostError>>;

/// The loads of one scenario that have not been finished yet, by id. Dropping the last clone
/// stops every load in it.
#[derive(Debug, Default, Clone)]
pub struct RunningLoads(Arc<Mutex<BTreeMap<load::LoadId, Load>>>);

impl RunningLoads {
    fn insert(&self, id: load::LoadId, running: Load) {
        self.lock().insert(id, running);
    }

    fn take(&self, id: load::LoadId) -> Option<Load> {
        self.lock().remove(&id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<load::LoadId, Load>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops load `id` if it still runs, and says what became of it, for the rollback report.
    pub async fn stop(&self, id: load::LoadId) -> String {
        match self.take(id) {
            Some(running) => {
                let report = running.stop_and_finish().await;
                format!(
                    "stopped after {} requests in {:.3} s",
                    report.sent,
                    report.elapsed.as_secs_f64()
                )
            }
            None => "already finished".to_owned(),
        }
    }
}

/// Why a load could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadStartError {
    /// The service is not on this machine (127.0.0.0/8).
    #[error("a load may only go to a service on 127.0.0.0/8, and {0} is not")]
    NotLoopback(String),
    /// A value of the spec is out of range.
    #[error("invalid load: {0}")]
    Invalid(String),
    /// The spec was refused, or the client could not be built.
    #[error(transparent)]
    Load(#[from] loadgen::LoadError),
}

impl LoadStartError {
    fn into_host_error(self) -> HostError {
        match self {
            Self::NotLoopback(_) => HostError::NotPermitted(self.to_string()),
            Self::Invalid(_) | Self::Load(loadgen::LoadError::Invalid(_)) => {
                HostError::Invalid(self.to_string())
            }
            Self::Load(loadgen::LoadError::Client(_)) => HostError::Failed(self.to_string()),
        }
    }
}

/// The loadgen spec of a checked request to `url`: `url` must be on 127.0.0.0/8, and the
/// request's own timeout (else `default_timeout`) bounds each attempt.
pub fn spec_from_contract(
    request: &ServiceRequest,
    url: Url,
    pace: load::Pace,
    extent: load::Extent,
    default_timeout: std::time::Duration,
) -> Result<LoadSpec, LoadStartError> {
    let host = url.host_str().unwrap_or_default();
    if !host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback()) {
        return Err(LoadStartError::NotLoopback(
            url.origin().ascii_serialization(),
        ));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            return Err(LoadStartError::Invalid(format!(
                "header `{name}` is not a valid HTTP header"
            )));
        };
        headers.append(name, value);
    }
    let extent = match extent {
        load::Extent::Duration(nanos) => Extent::Duration(
            durations::from_nanos("duration", nanos, Bounds::TIMEOUT)
                .map_err(|e| LoadStartError::Invalid(e.to_string()))?,
        ),
        load::Extent::Count(n) => Extent::Count(n),
    };
    let pace = match pace {
        load::Pace::Rate(n) => Pace::Rate(n),
        load::Pace::Concurrency(n) => Pace::Concurrency(n),
    };
    Ok(LoadSpec {
        request: RequestTemplate {
            method: request.method.clone(),
            url,
            headers,
            body: request.body.clone().into(),
            timeout: Bounds::TIMEOUT.clamp(request.timeout.unwrap_or(default_timeout)),
        },
        pace,
        extent,
    })
}

/// A duration as the contract's nanoseconds, saturating.
fn nanos(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// loadgen's report as the contract's `load-report`.
pub fn report_to_contract(report: loadgen::LoadReport) -> load::LoadReport {
    let kind = |error: TransportError| match error {
        TransportError::Refused => load::TransportError::Refused,
        TransportError::Reset => load::TransportError::Reset,
        TransportError::Timeout => load::TransportError::Timeout,
        TransportError::Other => load::TransportError::Other,
    };
    load::LoadReport {
        description: report.description,
        sent: report.sent,
        statuses: report
            .statuses
            .into_iter()
            .map(|(status, count)| load::StatusCount { status, count })
            .collect(),
        errors: report
            .errors
            .into_iter()
            .map(|(error, count)| load::ErrorCount {
                kind: kind(error),
                count,
            })
            .collect(),
        latency: load::Latencies {
            p50: nanos(report.latency.p50),
            p90: nanos(report.latency.p90),
            p99: nanos(report.latency.p99),
            max: nanos(report.latency.max),
        },
        buckets: report
            .buckets
            .into_iter()
            .map(|b| load::Bucket {
                second: b.second,
                count: b.count,
                errors: b.errors,
                p99: nanos(b.p99),
            })
            .collect(),
        elapsed: nanos(report.elapsed),
    }
}

/// Load ids, unique in this process.
fn next_load_id() -> load::LoadId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl ScenarioHost {
    /// Checks `spec` (the service as `http.send` does, the host on this machine) and starts it.
    fn start(&self, spec: load::LoadSpec) -> Result<Load, HostError> {
        self.refuse_in_hypothesis("start-load")?;
        let request = ServiceRequest::from_contract(spec.request)?;
        let url = self.service_url(&request)?;
        let spec = spec_from_contract(&request, url, spec.pace, spec.extent, self.limits.http)
            .map_err(LoadStartError::into_host_error)?;
        let limits = Limits {
            deadline: self.control.as_ref().map(|c| c.deadline),
            max_rate: self.limits.load_max_rate,
            ..Limits::default()
        };
        let in_flight = match spec.pace {
            Pace::Concurrency(n) => n as usize,
            Pace::Rate(_) => 16,
        };
        let client = loadgen::client(in_flight.min(limits.max_in_flight as usize))
            .map_err(|e| LoadStartError::from(e).into_host_error())?;
        Load::start(&client, spec, &limits).map_err(|e| LoadStartError::from(e).into_host_error())
    }
}

impl load::Host for ScenarioHost {
    async fn start_load(&mut self, spec: load::LoadSpec) -> HostResult<load::LoadId> {
        let running = match self.start(spec) {
            Ok(running) => running,
            Err(e) => return Ok(Err(e)),
        };
        let id = next_load_id();
        let description = running.description().to_owned();
        self.note("HOST", format!("start load {id}: {description}"));
        let label = format!("load {id}: {description}");
        self.windows
            .open(&self.events, WindowKey::Load(id), "load", label);
        self.journal.push(Undo::StopLoad { id, description });
        self.journal.loads.insert(id, running);
        Ok(Ok(id))
    }

    async fn finish_load(&mut self, id: load::LoadId) -> HostResult<load::LoadReport> {
        let Some(running) = self.journal.loads.take(id) else {
            return Ok(Err(HostError::NotFound(format!(
                "no load {id} is running: it was finished already, or not started by this scenario"
            ))));
        };
        let description = running.description().to_owned();
        self.journal.forget(&Undo::StopLoad {
            id,
            description: description.clone(),
        });
        let what = format!("load {id} ({description}) to end");
        let key = WindowKey::Load(id);
        // The load ends by the scenario's deadline at the latest (its limits say so).
        let report = self
            .bounded(&what, self.remaining(), async {
                Ok::<_, HostError>(running.finish().await)
            })
            .await?;
        self.windows.close(&self.events, &key, RemovedBy::Scenario);
        Ok(report.map(|report| {
            self.note(
                "HOST",
                format!(
                    "load {id} ended: {} sent, {} dropped, {} abandoned in {:.3} s",
                    report.sent,
                    report.dropped,
                    report.abandoned,
                    report.elapsed.as_secs_f64()
                ),
            );
            report_to_contract(report)
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn request() -> ServiceRequest {
        ServiceRequest {
            service: "focus-server".into(),
            method: reqwest::Method::POST,
            path: "/configure?task_id=t".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{}".to_vec(),
            timeout: None,
        }
    }

    #[test]
    fn a_spec_keeps_the_request_pace_and_extent() {
        let url = Url::parse("http://127.0.0.1:5000/configure?task_id=t").unwrap();
        let spec = spec_from_contract(
            &request(),
            url,
            load::Pace::Rate(200),
            load::Extent::Duration(10_000_000_000),
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(
            spec.to_string(),
            "POST /configure?task_id=t at 200/s for 10 s"
        );
        assert_eq!(spec.request.timeout, Duration::from_secs(60));
        assert_eq!(spec.request.headers["content-type"], "application/json");
        assert_eq!(&spec.request.body[..], b"{}");
        let spec = spec_from_contract(
            &request(),
            Url::parse("http://127.3.2.1:1/x").unwrap(),
            load::Pace::Concurrency(4),
            load::Extent::Count(100),
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(
            (spec.pace, spec.extent),
            (Pace::Concurrency(4), Extent::Count(100))
        );
    }

    #[test]
    fn only_services_on_this_machine_take_load() {
        for far in [
            "http://10.0.0.1:80/",
            "http://example.com/",
            "http://[::1]:80/",
        ] {
            let e = spec_from_contract(
                &request(),
                Url::parse(far).unwrap(),
                load::Pace::Rate(1),
                load::Extent::Count(1),
                Duration::from_secs(1),
            )
            .unwrap_err();
            assert!(matches!(e, LoadStartError::NotLoopback(_)), "{far}: {e}");
            assert!(matches!(e.into_host_error(), HostError::NotPermitted(_)));
        }
        let e = spec_from_contract(
            &request(),
            Url::parse("http://127.0.0.1:1/").unwrap(),
            load::Pace::Rate(1),
            load::Extent::Duration(u64::MAX),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(e.into_host_error(), HostError::Invalid(_)));
    }

    #[test]
    fn a_report_converts_with_its_counts_and_percentiles() {
        let ms = Duration::from_millis;
        let report = loadgen::LoadReport {
            description: "GET /health at 10/s for 1 s".into(),
            sent: 12,
            dropped: 1,
            abandoned: 0,
            statuses: [(503, 2), (200, 8)].into_iter().collect(),
            errors: [(TransportError::Timeout, 1), (TransportError::Refused, 1)]
                .into_iter()
                .collect(),
            latency: loadgen::Latencies {
                p50: ms(1),
                p90: ms(2),
                p99: ms(3),
                max: ms(4),
            },
            buckets: vec![loadgen::Bucket {
                second: 0,
                count: 12,
                errors: 4,
                p99: ms(3),
            }],
            elapsed: ms(1000),
            stopped: false,
        };
        let r = report_to_contract(report);
        assert_eq!(r.sent, 12);
        let statuses: Vec<_> = r.statuses.iter().map(|s| (s.status, s.count)).collect();
        assert_eq!(statuses, [(200, 8), (503, 2)]);
        let errors: Vec<_> = r.errors.iter().map(|e| (e.kind, e.count)).collect();
        assert_eq!(
            errors,
            [
                (load::TransportError::Refused, 1),
                (load::TransportError::Timeout, 1)
            ]
        );
        assert_eq!(
            (r.latency.p50, r.latency.p90, r.latency.p99, r.latency.max),
            (1_000_000, 2_000_000, 3_000_000, 4_000_000)
        );
        assert_eq!(r.buckets.len(), 1);
        assert_eq!((r.buckets[0].count, r.buckets[0].errors), (12, 4));
        assert_eq!(r.elapsed, 1_000_000_000);
    }
}
