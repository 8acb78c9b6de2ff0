//! `scenario-runner env up|status`: the local environment for a person at a terminal. `up`
//! starts it, prints the service addresses and keeps it up until Ctrl-C; `status` shows a
//! running one (workloads, pods, readiness, blocks), asked live over its status socket.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand};

use super::config_file::load_config;
use crate::config::EnvironmentConfig;
use crate::env::Environment as _;
use crate::env::local::status;
use crate::env::local::{LocalConfig, LocalEnvironment, Readiness};

/// Arguments of `env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// What to do with the environment.
    #[command(subcommand)]
    pub action: EnvAction,
}

/// `env up` or `env status`.
#[derive(Debug, Subcommand)]
pub enum EnvAction {
    /// Start the local environment, print its addresses and keep it up until Ctrl-C.
    Up(UpArgs),
    /// Show the running local environment: workloads, pods, readiness and blocks.
    Status(StatusArgs),
}

/// Arguments of `env up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// The environment of the configuration file [default: its `default_environment`].
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// The configuration file [default: the nearest runner.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Arguments of `env status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The configuration file, which says where the runs are [default: the nearest runner.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Runs `env up` or `env status`.
pub async fn execute(args: EnvArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        EnvAction::Up(args) => up(args).await,
        EnvAction::Status(args) => show_status(args).await,
    }
}

async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    use tokio::signal::unix::{SignalKind, signal};
    let loaded = load_config(args.config.as_deref())?;
    let (name, config) = loaded
        .config
        .environment(args.env.as_deref(), &loaded.path)?;
    let EnvironmentConfig::Local(local) = config else {
        bail!(
            "`env up` starts local environments; `{name}` in {} is not of kind \"local\"",
            loaded.path.display()
        );
    };
    let mut sigint =
        signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    let mut sigterm =
        signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let ctx = loaded.open_context(name, false);
    crate::errln!(
        "starting the local environment `{name}` (run {}) …",
        ctx.run_id
    );
    // A signal while starting drops the half-started environment, which kills its pods.
    let env = tokio::select! {
        env = LocalEnvironment::start(local, &ctx) => env.map_err(|e| anyhow!("cannot start the environment `{name}`: {e}"))?,
        _ = sigint.recv() => return Ok(ExitCode::from(130)),
        _ = sigterm.recv() => return Ok(ExitCode::from(143)),
    };
    for line in addresses(&env, local) {
        crate::outln!("{line}");
    }
    crate::errln!(
        "up; logs in {}\n`scenario-runner env status` shows it; Ctrl-C stops it",
        ctx.run_dir.join("logs").display()
    );
    let signal_name = tokio::select! {
        _ = sigint.recv() => "SIGINT",
        _ = sigterm.recv() => "SIGTERM",
    };
    crate::errln!("{signal_name}: stopping the pods …");
    env.shutdown().await;
    crate::errln!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// `FOCUS_URL=http://127.0.0.1:5000`, `MONGODB_URI=mongodb://127.0.0.1:27117/?directConnection=true`
/// and one line for each other workload.
fn addresses(env: &LocalEnvironment, config: &LocalConfig) -> Vec<String> {
    let mut lines = vec![format!("FOCUS_URL={}", env.focus_url())];
    for (name, workload) in &config.workloads {
        let Some(addr) = env.service_addr(name) else {
            continue;
        };
        let var = name.to_uppercase().replace('-', "_");
        match &workload.readiness {
            _ if *name == config.focus_workload => {}
            Readiness::MongodbPing => {
                lines.push(format!("{var}_URI=mongodb://{addr}/?directConnection=true"))
            }
            Readiness::HttpGet { .. } => lines.push(format!("{var}_URL=http://{addr}")),
            Readiness::Tcp => lines.push(format!("{var}_ADDR={addr}")),
        }
    }
    lines
}

async fn show_status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_config(args.config.as_deref())?;
    let current = loaded
        .root
        .join("target")
        .join("scenario-runs")
        .join("current");
    match status::query(&current).await {
        Ok(status) if args.json => crate::outln!("{}", serde_json::to_string_pretty(&status)?),
        Ok(status) => crate::console::out(format_args!("{status}")),
        Err(message) => {
            crate::errln!("{message}");
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
