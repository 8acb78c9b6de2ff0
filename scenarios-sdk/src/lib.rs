//! # scenarios-sdk: write outage scenarios in Rust, run them with `scenario-runner`
//!
//! A scenario is a plain function that acts on the environment (scale a workload, block its
//! network, delete a pod), calls the Focus Server, and checks what it answered. A crate of
//! scenarios builds into one WebAssembly component (`cargo build --target wasm32-wasip2`),
//! which the runner loads, runs in a sandbox, rolls back after, and reports as JUnit.
//!
//! This crate hides the contract (`wit/scenario.wit`, package `focus:scenario@0.1.0`) behind a
//! small typed API: [`Duration`] and [`Instant`] instead of raw nanoseconds, enums instead of
//! strings, and assertions whose failures say what was expected and what happened.
//!
//! ## Ticket #1's verification test, in full
//!
//! ```no_run
//! use scenarios_sdk::prelude::*;
//!
//! /// With MongoDB scaled to 0, POST /configure answers 503 within the 5 s SLA.
//! #[scenario(tags = ["p0", "sla"], key = "PZ-13640", timeout = "60s")]
//! fn focus_server_fast_failover() -> Outcome {
//!     workload("mongodb").scale(0)?;
//!     sleep(Duration::from_secs(5));
//!     let task = format!("failover-{}", now().as_nanos());
//!     let response = configure(&task, json!({
//!         "displayInfo": {"height": 1000}, "channels": {"min": 1, "max": 50},
//!         "view_type": "0", "nfftSelection": 1024, "frequencyRange": {"min": 0, "max": 500},
//!         "start_time": 1735689600, "end_time": 1735689900,
//!     }))?;
//!     annotate_secs("response_time_s", response.elapsed());
//!     expect_within(&response, Duration::from_secs(5))?;
//!     expect_status(&response, 503)?;
//!     Ok(())
//! }
//!
//! scenarios_sdk::export_scenarios!(focus_server_fast_failover);
//! # fn main() {}
//! ```
//!
//! Restoring MongoDB is the runner's job: every mutation is journalled and undone after the
//! scenario, whatever its outcome.
//!
//! ## From an empty crate to a component
//!
//! 1. `cargo new --lib my-scenarios`, then in its `Cargo.toml`:
//!    ```toml
//!    [lib]
//!    crate-type = ["cdylib"]
//!
//!    [dependencies]
//!    scenarios-sdk = { path = "../scenarios-sdk" }
//!    ```
//!    (`scenarios-sdk/template/` is such a crate, ready to copy.)
//! 2. Write scenarios as above and list them once in `export_scenarios!`.
//! 3. `scenario-runner run my-scenarios/` builds it for `wasm32-wasip2` and runs it, or build it
//!    yourself with `cargo build --target wasm32-wasip2` and pass the `.wasm` file.
//!
//! ## How a scenario ends
//!
//! A scenario returns [`Outcome`] (`Result<(), Stop>`). `?` works on host calls and on
//! assertions: a failed assertion is a JUnit `<failure>`, an [`HostError::Unsupported`] skips
//! the scenario, any other host error is reported as an error of the run, not as a failure
//! (see [`outcome`](crate::Stop) for how it crosses the contract). A panic is caught by the
//! SDK's panic hook and shows in the report as an error with its message and location.
//!
//! Off wasm (for `cargo test` and doc tests on the build machine) everything compiles, but a
//! call that reaches the host panics: there is no host. Test scenario logic that needs no host,
//! such as payload builders, with ordinary unit tests, and the scenarios with the runner.
//!
//! The SDK's own name must stay `scenarios_sdk` in a scenario crate's dependencies: the
//! `#[scenario]` attribute refers to it by that name.

#![warn(missing_docs)]

extern crate self as scenarios_sdk;

#[doc(hidden)]
pub mod bindings;

mod assert;
mod environment;
mod error;
mod focus;
mod log;
mod outcome;
mod suite;
mod time;
mod workload;

pub use std::time::Duration;

pub use serde_json;
pub use serde_json::json;

pub use crate::assert::{
    expect_body_contains, expect_duration_within, expect_status, expect_status_in, expect_within,
};
pub use crate::environment::{Capability, Environment, environment, require};
pub use crate::error::HostError;
pub use crate::focus::{
    ConfigureRequest, ConfigureRoute, HttpResponse, Job, configure, configure_legacy, get, jobs,
};
pub use crate::log::{Level, annotate, annotate_secs, log};
pub use crate::outcome::{Failure, HOST_ERROR_PREFIX, IntoOutcome, Outcome, Stop, skip};
pub use crate::suite::Scenario;
pub use crate::time::{Deadline, Instant, Seconds, now, sleep, wait_for, wait_until};
pub use crate::workload::{BlockMode, Pod, ProbeResult, Workload, probe, workload};

/// Registers a function as a scenario of the component.
///
/// The function takes no arguments and returns [`Outcome`] (or any `Result<(), E>` with
/// `E: Into<Stop>`). Its name is the scenario's name. The arguments, all optional:
///
/// - `tags = ["p0", "mongodb"]`: for `--tag` selection and the JUnit properties;
/// - `key = "PZ-13640"`: the ticket or test key, written to JUnit as `test_key` (Xray);
/// - `timeout = "120s"`: how long it may run (`h`, `m`, `s`, `ms`, such as `"1m30s"`); the
///   runner's default when absent;
/// - `description = "…"`: what it checks; when absent, the first paragraph of the doc comment.
///
/// The function must also be listed in [`export_scenarios!`].
///
/// ```no_run
/// use scenarios_sdk::prelude::*;
///
/// /// The Focus Server answers /ack while everything is up.
/// #[scenario(tags = ["smoke"], timeout = "10s")]
/// fn ack_answers() -> Outcome {
///     expect_status(&get("/ack")?, 200)?;
///     Ok(())
/// }
///
/// scenarios_sdk::export_scenarios!(ack_answers);
/// # fn main() {}
/// ```
pub use scenarios_sdk_macros::scenario;

/// Everything a scenario file usually needs: `use scenarios_sdk::prelude::*;`.
///
/// ```
/// use scenarios_sdk::prelude::*;
///
/// let limit: Duration = Duration::from_secs(5);
/// ```
pub mod prelude {
    pub use crate::{
        BlockMode, Capability, ConfigureRequest, ConfigureRoute, Deadline, Duration, Failure,
        HostError, HttpResponse, Instant, Level, Outcome, Seconds, Stop, annotate, annotate_secs,
        configure, configure_legacy, debug, ensure, ensure_eq, environment, error,
        expect_body_contains, expect_duration_within, expect_status, expect_status_in,
        expect_within, fail, get, info, jobs, json, log, now, probe, require, scenario, skip,
        sleep, wait_for, wait_until, warn, workload,
    };
}

/// What the SDK's macros expand to. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::suite::{metas, run};
    pub use wit_bindgen;
}
