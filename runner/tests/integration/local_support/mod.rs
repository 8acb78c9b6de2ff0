//! Shared support of the local-environment tests: runner.toml snippets on free ports, starting
//! the environment in a scratch run folder, and direct MongoDB and HTTP clients.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use scenario_runner::env::OpenContext;
use scenario_runner::env::local::{LocalConfig, LocalEnvironment};
use testkit::{Scratch, free_port, workspace_root};

/// A `mongodb` workload on a free service port.
pub fn mongodb(recreate_delay: &str) -> String {
    format!(
        "[workloads.mongodb]\nbuiltin = \"mongodb\"\nservice_port = {}\nreadiness = \"mongodb ping\"\n\
         recreate_delay = \"{recreate_delay}\"\nstop_grace = \"5s\"\n",
        free_port()
    )
}

/// The workspace's Focus Server on a free service port, found through `{exe:focus-server}`.
pub fn focus_server() -> String {
    // Fails with "build it with cargo build -p focus-server" when it is missing.
    let _ = testkit::workspace_bin("focus-server");
    format!(
        "[workloads.focus-server]\ncommand = \"{{exe:focus-server}} --listen 127.0.0.1:{{port}} \
         --mongo-uri mongodb://{{service:mongodb}}/?directConnection=true --seed-recordings\"\n\
         service_port = {}\nreadiness = \"http GET /health\"\nrecreate_delay = \"1s\"\nstop_grace = \"5s\"\n",
        free_port()
    )
}

/// Writes `runner.toml` into `scratch` for a run against the local environment: MongoDB and
/// the workspace's Focus Server, ready on `GET /ready`, with the workspace's `.venv` linked in
/// (the builtin MongoDB is looked for in the config folder's `.venv`).
pub fn write_local_run_config(scratch: &Scratch) {
    let workloads = [mongodb("5s"), focus_server()]
        .join("\n")
        .replace("[workloads.", "[environments.local.workloads.")
        .replace("http GET /health", "http GET /ready");
    std::os::unix::fs::symlink(workspace_root().join(".venv"), scratch.path.join(".venv"))
        .expect("link the workspace's .venv");
    let config = scratch.path.join("runner.toml");
    std::fs::write(
        &config,
        format!(
            "default_environment = \"local\"\n[runner]\nsteady_state_timeout_s = 60\n\
             [environments.local]\nkind = \"local\"\nfocus_workload = \"focus-server\"\n\
             startup_timeout = \"60s\"\n{workloads}"
        ),
    )
    .expect("write runner.toml");
}

/// A started environment in its own scratch folder; stopped gracefully by [`Harness::stop`], or
/// killed on drop.
pub struct Harness {
    pub env: LocalEnvironment,
    pub scratch: Scratch,
}

impl Harness {
    /// Starts an environment with `workloads` (TOML tables under `[workloads.*]`).
    pub async fn start(workloads: &[String]) -> Self {
        let config: LocalConfig = toml::from_str(&workloads.join("\n")).expect("valid test config");
        let scratch = Scratch::new("local-env");
        let ctx = OpenContext {
            name: "local".into(),
            run_id: "test-run".into(),
            config_dir: workspace_root(),
            run_dir: scratch.path.join("runs").join("test-run"),
            force_cleanup: false,
        };
        let started = Instant::now();
        let env = LocalEnvironment::start(&config, &ctx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!("environment ready in {:?}", started.elapsed());
        Self { env, scratch }
    }

    /// The address of `workload`'s service.
    pub fn addr(&self, workload: &str) -> SocketAddr {
        self.env.service_addr(workload).expect("declared workload")
    }

    /// A driver client through the mongodb service, as the Focus Server connects.
    pub async fn mongo(&self) -> mongodb::Client {
        let uri = format!(
            "mongodb://{}/?directConnection=true&serverSelectionTimeoutMS=1000&connectTimeoutMS=1000",
            self.addr("mongodb")
        );
        mongodb::Client::with_uri_str(uri).await.expect("client")
    }

    /// Stops every pod gracefully; the scratch folder (with the run's logs) stays until the
    /// returned value is dropped.
    pub async fn stop(self) -> Scratch {
        use scenario_runner::env::Environment as _;
        self.env.shutdown().await;
        self.scratch
    }
}

/// Polls `condition` every 50 ms until it holds, or panics after `timeout` naming `what`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut condition: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// A plain HTTP client (no proxy) for the Focus Server.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// A historic configure request over the seeded 2025-01-01 recordings: it needs MongoDB.
pub fn historic_configure() -> serde_json::Value {
    serde_json::json!({"displayInfo": {"height": 500}, "channels": {"min": 1, "max": 3}, "view_type": "0",
        "nfftSelection": 1024, "start_time": 1_735_689_600, "end_time": 1_735_690_200})
}
