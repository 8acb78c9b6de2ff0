//! # scenarios-sdk: write outage scenarios in Rust, run them with `scenario-runner`
//!
//! A scenario is a plain function that acts on the environment (scale a workload, block its
//! network, add a fault, delete a pod), calls a service, and checks what it answered. A crate
//! of scenarios builds into one WebAssembly component (`cargo build --target wasm32-wasip2`),
//! which the runner loads, runs in a sandbox, rolls back after, and reports as JUnit.
//!
//! This crate hides the contract (`wit/scenario.wit`, package `focus:scenario@0.2.0`) behind a
//! small typed API: [`Duration`] and [`Instant`] instead of raw nanoseconds, enums instead of
//! strings, and assertions whose failures say what was expected and what happened.
//!
//! Start a crate with `scenario-runner new my-scenarios`: it writes a ready crate with the
//! SDK's path set, holding the example below.
//!
//! ## A suite: a steady state, an HTTP call, a rollback action and a parameter
//!
//! ```no_run
//! use scenarios_sdk::prelude::*;
//!
//! /// The steady state, checked by the runner before each scenario and after its rollback:
//! /// the Focus Server sees MongoDB and has seeded its recordings, and MongoDB answers a ping.
//! #[steady_state]
//! fn focus_server_sees_database() -> Outcome {
//!     focus_server_steady_state()
//! }
//!
//! /// With MongoDB scaled to 0, POST /configure answers 503 within the SLA (`--param sla_s=…`,
//! /// 5 s unless set).
//! #[scenario(tags = ["p0", "sla"], key = "PZ-13640", timeout = "60s")]
//! fn focus_server_fast_failover() -> Outcome {
//!     let sla = param_secs("sla_s", 5.0)?;                       // a parameter
//!     workload("mongodb").scale(0)?;                              // undone by the runner
//!     sleep(secs(5));
//!     let response = configure(&unique_task_id("failover"), payloads::historic())?;
//!     annotate_secs("response_time_s", response.elapsed());
//!     expect_within(&response, sla)?;
//!     expect_status(&response, 503)?;
//!     Ok(())
//! }
//!
//! /// A live job stops on DELETE /job/{id}, and is listed as stopped.
//! #[scenario(tags = ["smoke"], timeout = "30s")]
//! fn job_stops() -> Outcome {
//!     let started = configure(&unique_task_id("stop"), payloads::live())?; // stopped at rollback
//!     expect_status(&started, 200)?;
//!     let job: String = started.json::<Value>()?["job_id"].as_str().unwrap_or_default().into();
//!     let stopped = Request::delete("focus-server", format!("/job/{job}")).send()?; // HTTP
//!     expect_status(&stopped, 200)?;
//!     Ok(())
//! }
//!
//! /// A rollback action of the scenario's own: sent after it, whatever its outcome.
//! #[scenario(timeout = "30s")]
//! fn with_a_rollback_action() -> Outcome {
//!     Request::post("focus-server", "/configure?task_id=cleanup")
//!         .json(&payloads::live())
//!         .on_rollback()?;
//!     Ok(())
//! }
//!
//! scenarios_sdk::export_scenarios!();
//! # fn main() {}
//! ```
//!
//! Restoring MongoDB is the runner's job: every mutation is journalled and undone after the
//! scenario, whatever its outcome, and every job `configure` starts is stopped then
//! (`DELETE /job/{id}`, unless [`ConfigureRequest::keep_job`]).
//!
//! ## From an empty folder to a component
//!
//! 1. `scenario-runner new my-scenarios` (or copy `scenarios-sdk/template/`, set the package
//!    name and the `scenarios-sdk` path).
//! 2. Write scenarios as above; `#[scenario]` registers each where it is written, and the one
//!    `scenarios_sdk::export_scenarios!();` at the crate root exports them all. A crate that
//!    forgets that line does not compile.
//! 3. `scenario-runner run my-scenarios/` builds it for `wasm32-wasip2` and runs it, or build it
//!    yourself with `cargo build --target wasm32-wasip2` and pass the `.wasm` file.
//!
//! ## How a scenario ends
//!
//! A scenario returns [`Outcome`] (`Result<(), Stop>`). `?` works on host calls and on
//! assertions: a failed assertion is a JUnit `<failure>`, an [`HostError::Unsupported`] skips
//! the scenario, any other host error is an error of the run, not a failure (see [`Stop`]).
//! Soft checks ([`check!`], [`soft`]) record failures and go on; the outcome lists them all. A
//! panic is caught by the SDK's panic hook and shows in the report as an error with its
//! message and location.
//!
//! **HTTP:** any status is an `Ok` response; a refused or reset connection is a host error,
//! not a status (see [`Request`] and [the module](crate::http) for polling across one).
//!
//! Off wasm (for `cargo test` and doc tests on the build machine) everything compiles, but a
//! call that reaches the host panics: there is no host. Test scenario logic that needs no host,
//! such as payload builders and thresholds, with ordinary unit tests, and the scenarios with
//! the runner.
//!
//! The SDK's own name must stay `scenarios_sdk` in a scenario crate's dependencies: the
//! attributes refer to it by that name.

#![warn(missing_docs)]

extern crate self as scenarios_sdk;

#[doc(hidden)]
pub mod bindings;

mod assert;
mod check;
mod environment;
mod error;
mod faults;
mod focus;
pub mod http;
mod load;
mod log;
mod outcome;
mod params;
mod stream;
mod suite;
mod time;
mod workload;

pub use std::time::Duration;

pub use serde;
pub use serde_json;
pub use serde_json::{Value, json};

pub use crate::assert::{
    expect_body_contains, expect_duration_within, expect_status, expect_status_in, expect_within,
};
pub use crate::check::{failed_checks, soft};
pub use crate::environment::{
    Capability, Environment, environment, require, run_id, unique_task_id,
};
pub use crate::error::HostError;
pub use crate::faults::{Direction, Fault, FaultGuard};
pub use crate::focus::{
    ConfigureRequest, ConfigureRoute, FOCUS_SERVER, Job, configure, configure_legacy,
    focus_server_steady_state, get, jobs, payloads, stop_at_rollback,
};
pub use crate::http::{HttpResponse, Method, Request, encode_component, on_rollback, send};
pub use crate::load::{
    Bucket, Load, LoadReport, RunningLoad, TransportError, expect_error_rate, expect_no_status,
    expect_p99,
};
pub use crate::log::{Level, annotate, annotate_secs, log};
pub use crate::outcome::{Failure, IntoOutcome, Outcome, Stop, skip};
pub use crate::params::{param, param_or, param_secs};
pub use crate::stream::{StreamReport, expect_max_gap, expect_open, watch_stream};
pub use crate::suite::{Scenario, SteadyState, registered_scenarios};
pub use crate::time::{
    Deadline, Instant, Seconds, ms, now, secs, sleep, wait_for, wait_until, wall_clock,
};
pub use crate::workload::{BlockMode, Pod, ProbeResult, Workload, probe, workload};

/// Registers a function as a scenario of the component, where it is written.
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
/// There is no list to add it to: [`export_scenarios!`] at the crate root exports every
/// registered scenario, in the order they are written (by module, then line). Scenarios must
/// not depend on that order: each starts from the steady state.
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
/// scenarios_sdk::export_scenarios!();
/// # fn main() {}
/// ```
pub use scenarios_sdk_macros::scenario;

/// Declares the component's steady-state hypothesis: a function that checks, once, that the
/// environment is as every scenario expects to find it, and returns [`Outcome`].
///
/// The runner polls it, within its steady-state timeout, before each scenario (a scenario
/// whose hypothesis never holds is not run: it is reported as an error with the hypothesis'
/// last message) and again after that scenario's rollback (not coming back is an error of the
/// scenario that broke it). It runs on a fresh instance each time, so it must check and return,
/// never wait. A component declares at most one.
///
/// [`focus_server_steady_state`] is the common hypothesis of a Focus Server environment.
///
/// ```no_run
/// use scenarios_sdk::prelude::*;
///
/// /// The Focus Server sees MongoDB and has its recordings, and MongoDB answers a ping.
/// #[steady_state]
/// fn focus_server_sees_database() -> Outcome {
///     focus_server_steady_state()
/// }
///
/// scenarios_sdk::export_scenarios!();
/// # fn main() {}
/// ```
pub use scenarios_sdk_macros::steady_state;

/// Everything a scenario file usually needs: `use scenarios_sdk::prelude::*;`.
///
/// ```
/// use scenarios_sdk::prelude::*;
///
/// let limit: Duration = secs(5);
/// let body: Value = payloads::historic();
/// ```
pub mod prelude {
    pub use crate::{
        BlockMode, Capability, ConfigureRequest, ConfigureRoute, Deadline, Direction, Duration,
        FOCUS_SERVER, Failure, Fault, HostError, HttpResponse, Instant, Level, Load, LoadReport,
        Method, Outcome, Request, Seconds, Stop, StreamReport, Value, annotate, annotate_secs,
        check, configure, configure_legacy, debug, ensure, ensure_eq, environment, error,
        expect_body_contains, expect_duration_within, expect_error_rate, expect_max_gap,
        expect_no_status, expect_open, expect_p99, expect_status, expect_status_in, expect_within,
        fail, focus_server_steady_state, get, info, jobs, json, log, ms, now, on_rollback, param,
        param_or, param_secs, payloads, probe, require, run_id, scenario, secs, skip, sleep, soft,
        steady_state, unique_task_id, wait_for, wait_until, wall_clock, warn, watch_stream,
        workload,
    };
}

/// What the SDK's macros expand to. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::check::take_soft_failures;
    pub use crate::suite::{metas, run, steady_state};
    pub use inventory;
    pub use wit_bindgen;
}
