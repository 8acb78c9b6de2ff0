//! The Focus Server: the control API of a DAS (fiber-optic distributed acoustic sensing)
//! system, and the service the outage scenarios run against.
//!
//! It validates spectrogram jobs, looks up recordings and records jobs in MongoDB, and
//! orchestrates the jobs. When MongoDB is down it fails fast: a database gate fed by the
//! driver's topology events, a deadline on every call and a whole-request backstop give a
//! clear 503 well inside the 5 s SLA (see [`db`]). `--db-timeout 30s --fail-fast off` restores
//! the old behaviour (plain driver timeouts) that the P0 ticket PZ-13640 caught.
//!
//! Layout: [`config`] (flags, environment, TOML), [`validation`] (the rules), [`derive`] (the
//! derived figures), [`db`] (MongoDB, the gate, recordings, job records), [`jobs`] (the
//! orchestrated jobs), [`stream`] (their gRPC data streams), [`api`] (the HTTP handlers), [`metrics`], [`telemetry`], [`app`] (state
//! and life cycle).

pub mod api;
pub mod app;
pub mod config;
pub mod db;
pub mod derive;
pub mod jobs;
pub mod metrics;
pub mod stream;
pub mod telemetry;
pub mod timefmt;
pub mod validation;

pub use app::{App, AppState, ServeError, build, serve};
pub use config::{Cli, Settings};
