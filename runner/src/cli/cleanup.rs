//! `scenario-runner cleanup --env NAME`: restores what a crashed run left in a Kubernetes
//! environment (runner-labelled NetworkPolicies, workloads carrying the original-replicas
//! annotation, Services carrying the original-selector annotation of a fault proxy, the
//! proxies' Deployments and headless Services) and prints each change. Exit 0 when everything is restored (or nothing was
//! left), 1 when the cluster refused a restoration, 2 on a configuration problem.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::config_file::load_config;
use crate::config::EnvironmentConfig;

/// Arguments of `cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The environment of the configuration file to restore [default: its
    /// `default_environment`].
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// The configuration file [default: runner.toml in the current folder or the nearest one
    /// above it].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs `cleanup`.
pub async fn execute(args: CleanupArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_config(args.config.as_deref())?;
    let (name, env_config) = loaded
        .config
        .environment(args.env.as_deref(), &loaded.path)?;
    let EnvironmentConfig::Kubernetes(kube) = env_config else {
        crate::outln!(
            "cleanup {name}: nothing to do; only kubernetes environments keep changes after the \
             runner ends (a local environment's processes end with it)"
        );
        return Ok(ExitCode::SUCCESS);
    };
    match crate::env::kube::cleanup(kube, name, &loaded.root).await {
        Ok(done) if done.is_empty() => {
            crate::outln!(
                "cleanup {name}: nothing left by an earlier run in namespace {}",
                kube.namespace
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(done) => {
            for line in &done {
                crate::outln!("cleanup {name}: {line}");
            }
            crate::outln!(
                "cleanup {name}: restored {} change(s) in namespace {}",
                done.len(),
                kube.namespace
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            crate::errln!("error: cleanup {name}: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
