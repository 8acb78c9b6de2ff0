//! `scenario-runner list PATH...`: each component's scenarios (those the selection flags pick,
//! as `run` would) with their tags, timeout, key
//! and description. It opens no environment. Exit 2 when a component does not load.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::config_file::load_config;
use super::guests::resolve_paths;
use super::run::{Format, engine_options};
use super::select::SelectionArgs;
use crate::engine::{EngineOptions, ScenarioMeta, format_duration};
use crate::run::{Engine, PlanEntry, load_plan};

/// Arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Components: `.wasm` files, folders of them, or cargo package folders (built first).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Which scenarios to list (as `run` would select them).
    #[command(flatten)]
    pub select: SelectionArgs,
    /// The configuration file, for the memory cap and the compile cache's place [default:
    /// runner.toml in the current folder or above; defaults when there is none].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// For people, or one JSON object on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Serialize)]
struct JsonScenario<'a> {
    component: &'a str,
    name: &'a str,
    description: &'a str,
    tags: &'a [String],
    key: Option<&'a str>,
    timeout_s: Option<f64>,
}

fn print_human(suite: &str, path: &std::path::Path, scenarios: &[ScenarioMeta]) {
    crate::outln!(
        "{suite} ({}): {} scenario{}",
        path.display(),
        scenarios.len(),
        if scenarios.len() == 1 { "" } else { "s" }
    );
    for meta in scenarios {
        let timeout = meta
            .timeout
            .map(format_duration)
            .unwrap_or_else(|| "default".into());
        let key = meta
            .key
            .as_deref()
            .map(|k| format!("  key {k}"))
            .unwrap_or_default();
        crate::outln!(
            "  {}  [{}]  timeout {timeout}{key}",
            meta.name,
            meta.tags.join(", ")
        );
        if !meta.description.is_empty() {
            crate::outln!("      {}", meta.description);
        }
    }
}

/// Runs the subcommand.
pub async fn execute(args: ListArgs) -> anyhow::Result<ExitCode> {
    let options = match (&args.config, load_config(args.config.as_deref())) {
        (_, Ok(loaded)) => engine_options(&loaded)?,
        (Some(_), Err(e)) => return Err(e),
        (None, Err(_)) => EngineOptions {
            cache_dir: Some(crate::engine::CompileCache::default_dir(None)),
            ..EngineOptions::default()
        },
    };
    let sources = resolve_paths(&args.paths);
    let engine = Engine::new(options)?;
    let plan = load_plan(&engine, &sources, &args.select.selection()).await;
    super::run::warn_about_the_cache(&plan);
    let mut broken = 0;
    let mut json = Vec::new();
    for entry in &plan {
        match entry {
            PlanEntry::Loaded {
                component,
                suite,
                selected,
                ..
            } => match args.format {
                Format::Human => print_human(suite, &component.path, selected),
                Format::Json => json.extend(selected.iter().map(|m| JsonScenario {
                    component: suite,
                    name: &m.name,
                    description: &m.description,
                    tags: &m.tags,
                    key: m.key.as_deref(),
                    timeout_s: m.timeout.map(|t| t.as_secs_f64()),
                })),
            },
            PlanEntry::Broken { error, .. } => {
                broken += 1;
                crate::errln!("error: {error}");
            }
        }
    }
    if args.format == Format::Json {
        crate::outln!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(ExitCode::from(if broken > 0 {
        super::EXIT_USAGE
    } else {
        0
    }))
}
