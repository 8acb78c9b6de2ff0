//! Background load in k6's spirit: a [`Load`] sends one request template again and again, at
//! a fixed rate or concurrency, for a duration or a count, while the scenario goes on (it may
//! inject and remove faults meanwhile). [`RunningLoad::finish`] waits for the end and gives a
//! [`LoadReport`], which the thresholds [`expect_p99`], [`expect_error_rate`] and
//! [`expect_no_status`] check. A load still running at rollback is stopped first.
//!
//! ```no_run
//! use scenarios_sdk::prelude::*;
//!
//! /// Under 200 configures a second, MongoDB down: p99 stays under 50 ms, only 503s.
//! #[scenario(timeout = "60s")]
//! fn outage_under_load() -> Outcome {
//!     require(&[Capability::Load, Capability::Scale])?;
//!     let load = Load::post_json("focus-server", "/configure", &payloads::historic())
//!         .rate(200)
//!         .for_duration(secs(10))
//!         .start()?;
//!     workload("mongodb").scale(0)?;
//!     let report = load.finish()?;
//!     expect_p99(&report, ms(50))?;
//!     expect_no_status(&report, 500..=599, &[503])?;
//!     Ok(())
//! }
//! # scenarios_sdk::export_scenarios!();
//! # fn main() {}
//! ```

mod report;

use std::time::Duration;

use serde::Serialize;

use crate::bindings::focus::scenario::load as wit;
use crate::error::host;
use crate::time::duration_to_nanos;
use crate::{HostError, Request};

pub use report::{
    Bucket, LoadReport, TransportError, expect_error_rate, expect_no_status, expect_p99,
};

/// How fast, and for how long: the parts of a [`Load`] besides its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    Rate(u32),
    Concurrency(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extent {
    Duration(Duration),
    Count(u64),
}

/// A background load to start: one request template, a pace (10 requests/s unless set) and
/// an extent (10 s unless set).
///
/// ```no_run
/// use scenarios_sdk::{Load, Request, secs};
///
/// let load = Load::new(Request::get("focus-server", "/ack")).concurrency(4).count(1000);
/// let report = load.start().unwrap().finish().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    request: Request,
    pace: Pace,
    extent: Extent,
}

impl Load {
    /// A load of `request`, at 10 requests/s for 10 s until changed. The request's
    /// [`timeout`](Request::timeout) bounds each attempt.
    ///
    /// ```
    /// use scenarios_sdk::{Load, Request};
    ///
    /// let load = Load::new(Request::get("focus-server", "/ack"));
    /// ```
    pub fn new(request: Request) -> Self {
        Load {
            request,
            pace: Pace::Rate(10),
            extent: Extent::Duration(Duration::from_secs(10)),
        }
    }

    /// A load of `POST path` with `body` as JSON.
    ///
    /// ```
    /// use scenarios_sdk::{Load, payloads, secs};
    ///
    /// let load = Load::post_json("focus-server", "/configure", &payloads::historic())
    ///     .rate(200)
    ///     .for_duration(secs(10));
    /// ```
    pub fn post_json(service: &str, path: &str, body: &impl Serialize) -> Self {
        Self::new(Request::post(service, path).json(body))
    }

    /// Sends `per_second` requests a second whatever their latency (an open model, as k6's
    /// constant-arrival-rate). The runner caps it (2,000/s unless configured otherwise).
    ///
    /// ```
    /// let load = scenarios_sdk::Load::new(scenarios_sdk::Request::get("focus-server", "/ack")).rate(50);
    /// ```
    pub fn rate(mut self, per_second: u32) -> Self {
        self.pace = Pace::Rate(per_second);
        self
    }

    /// Keeps `in_flight` requests going, each sent when the one before it ends (a closed
    /// model, as k6's virtual users).
    ///
    /// ```
    /// let load = scenarios_sdk::Load::new(scenarios_sdk::Request::get("focus-server", "/ack")).concurrency(8);
    /// ```
    pub fn concurrency(mut self, in_flight: u32) -> Self {
        self.pace = Pace::Concurrency(in_flight);
        self
    }

    /// Ends after `duration`.
    ///
    /// ```
    /// use scenarios_sdk::{Load, Request, secs};
    ///
    /// let load = Load::new(Request::get("focus-server", "/ack")).for_duration(secs(20));
    /// ```
    pub fn for_duration(mut self, duration: Duration) -> Self {
        self.extent = Extent::Duration(duration);
        self
    }

    /// Ends once `requests` have been sent.
    ///
    /// ```
    /// let load = scenarios_sdk::Load::new(scenarios_sdk::Request::get("focus-server", "/ack")).count(500);
    /// ```
    pub fn count(mut self, requests: u64) -> Self {
        self.extent = Extent::Count(requests);
        self
    }

    /// Starts the load in the background. [`HostError::Unsupported`] (a skip) where the
    /// environment cannot run load; [`HostError::Invalid`] for a rate of zero or above the
    /// runner's ceiling.
    ///
    /// ```no_run
    /// use scenarios_sdk::{Load, Request};
    ///
    /// let running = Load::new(Request::get("focus-server", "/ack")).start().unwrap();
    /// ```
    pub fn start(self) -> Result<RunningLoad, HostError> {
        let spec = wit::LoadSpec {
            request: self.request.into_wit()?,
            pace: match self.pace {
                Pace::Rate(n) => wit::Pace::Rate(n),
                Pace::Concurrency(n) => wit::Pace::Concurrency(n),
            },
            extent: match self.extent {
                Extent::Duration(d) => wit::Extent::Duration(duration_to_nanos(d)),
                Extent::Count(n) => wit::Extent::Count(n),
            },
        };
        let id = host(wit::start_load(&spec))?;
        Ok(RunningLoad { id })
    }
}

/// A load that has started. [`finish`](Self::finish) waits for its end.
///
/// ```no_run
/// use scenarios_sdk::{Load, Request};
///
/// let running = Load::new(Request::get("focus-server", "/ack")).start().unwrap();
/// let report = running.finish().unwrap();
/// ```
#[derive(Debug)]
#[must_use = "a load's report comes from finish(); without it the load's figures are lost"]
pub struct RunningLoad {
    id: u64,
}

impl RunningLoad {
    /// Waits for the load to end and returns what it did.
    ///
    /// ```no_run
    /// use scenarios_sdk::{Load, Request};
    ///
    /// let report = Load::new(Request::get("focus-server", "/ack")).start().unwrap().finish().unwrap();
    /// println!("{} sent, p99 {:?}", report.sent(), report.p99());
    /// ```
    pub fn finish(self) -> Result<LoadReport, HostError> {
        host(wit::finish_load(self.id)).map(LoadReport::from)
    }
}
