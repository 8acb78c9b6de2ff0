//! The command line: one file per subcommand. Adding a subcommand is three lines here: its
//! `mod`, its variant in [`Command`], and its arm in [`Command::execute`].

mod cleanup;
mod config_file;
mod dry_run;
mod env_cmd;
mod guests;
mod list;
mod new;
mod progress;
mod proxy;
pub mod python_guest;
mod run;
mod select;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use config_file::{LoadedConfig, find_config, load_config};
pub use guests::{resolve_paths, workspace_target_dir};

/// Runs WebAssembly outage scenarios against an environment and writes JUnit.
#[derive(Debug, Parser)]
#[command(name = "scenario-runner", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios: each in a fresh sandbox, with automatic rollback, and write a JUnit report.
    Run(run::RunArgs),
    /// List the scenarios of components: name, tags, timeout, key and description.
    List(list::ListArgs),
    /// Restore what a crashed run left in a Kubernetes environment: runner-labelled
    /// NetworkPolicies, workloads scaled away from their recorded replicas, Services re-pointed
    /// to a fault proxy, and the proxies' objects.
    Cleanup(cleanup::CleanupArgs),
    /// The local environment for a person: `env up` starts it until Ctrl-C, `env status` shows it.
    Env(env_cmd::EnvArgs),
    /// Write a ready scenario crate from the SDK's template, to list and run at once.
    New(new::NewArgs),
    /// Run one fault proxy in front of an upstream, driven over an HTTP control API (what the
    /// Kubernetes backend places in front of a workload for a network fault).
    Proxy(proxy::ProxyArgs),
}

impl Command {
    /// Runs the subcommand. `Err` is a usage, configuration or load problem (exit code 2).
    pub async fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Run(args) => run::execute(args).await,
            Command::List(args) => list::execute(args).await,
            Command::Cleanup(args) => cleanup::execute(args).await,
            Command::Env(args) => env_cmd::execute(args).await,
            Command::New(args) => new::execute(args).await,
            Command::Proxy(args) => proxy::execute(args).await,
        }
    }
}

/// The exit code for usage, configuration and load errors.
pub const EXIT_USAGE: u8 = 2;
