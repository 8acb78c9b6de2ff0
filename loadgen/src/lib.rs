//! HTTP load: one request template sent again and again, in k6's two models.
//!
//! - **Open model** ([`Pace::Rate`], k6's constant-arrival-rate): requests start on a fixed
//!   schedule whatever the answers' latency; slow answers do not slow the load. The requests in
//!   flight are bounded ([`Limits::max_in_flight`]); a request due while the bound is reached is
//!   not sent and is counted as dropped.
//! - **Closed model** ([`Pace::Concurrency`], k6's virtual users): a fixed number of requests
//!   in flight, each sent when the one before it ends.
//!
//! A load runs for a duration or a count, under a ceiling on the rate ([`Limits::max_rate`])
//! and a deadline, and stops at once on [`Load::stop`] or when dropped. Its [`LoadReport`]
//! has counts by status, transport errors by kind, latency percentiles and per-second buckets.

mod classify;
mod drive;
mod record;
mod spec;

pub use classify::TransportError;
pub use drive::Load;
pub use record::{Bucket, Latencies, LoadReport};
pub use spec::{Extent, Limits, LoadError, LoadSpec, Pace, RequestTemplate, client};
