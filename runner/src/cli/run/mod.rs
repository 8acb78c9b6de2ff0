//! `scenario-runner run PATH...`: load, select, open the environment, run every selected
//! scenario with rollback, write the JUnit report (always), print the summary, and exit 0
//! (all passed or skipped), 1 (a failure or an error), 2 (usage, configuration or load
//! problem), or 130/143 after SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use clap::{Args, ValueEnum};

use super::config_file::{LoadedConfig, load_config};
use super::guests::resolve_paths;
use super::select::SelectionArgs;
use crate::engine::EngineOptions;
use crate::env;
use crate::host::{FocusClient, HostLimits, RunContext};
use crate::report::ErrorKind;
use crate::run::{
    Engine, PlanEntry, Session, SessionSettings, announce, load_plan, report_not_run,
};

mod reports;
mod signals;

use reports::{Outputs, Reports, print_summary, report_usage_error};
use signals::Signals;

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Components to run: `.wasm` files, folders of them, or cargo package folders (built for
    /// wasm32-wasip2 first).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Which scenarios to run.
    #[command(flatten)]
    pub select: SelectionArgs,
    /// The environment of the configuration file to run against [default: its
    /// `default_environment`].
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// The configuration file [default: runner.toml in the current folder or the nearest one
    /// above it].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to write the JUnit report [default: target/scenario-reports/junit.xml beside
    /// runner.toml].
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Where to write the HTML report, one self-contained page [default: report.html beside
    /// the JUnit report].
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the run's events as JSON Lines to FILE, one per line as they happen (schema in
    /// the README).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Every scenario's timeout, replacing its own, such as `30s`, `2m` or `500ms`.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// How to print the summary: for people, or one JSON object on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Run against a simulation of the environment instead (its declared workloads, replicas
    /// and capabilities, in memory), printing each change, request and undo step a scenario
    /// would make. Nothing is started, changed or sent; requests get simulated answers. Writes
    /// reports only where --junit, --html or --events say.
    #[arg(long)]
    pub dry_run: bool,
    /// Restore what an earlier, crashed run left changed before starting, instead of refusing
    /// to start.
    #[arg(long)]
    pub force_cleanup: bool,
    /// A scenario parameter, `NAME=VALUE`, which scenarios read with `param(NAME)`; repeat for
    /// several. Overrides `[params]` and `[environments.NAME.params]` of the configuration.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
}

/// Parses `--param NAME=VALUE`; the value may be empty or hold `=`.
fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!(
            "`{text}` is not NAME=VALUE; write it like --param sla_s=2.5"
        )),
    }
}

/// The summary's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people.
    Human,
    /// One JSON object on stdout.
    Json,
}

/// Parses `--timeout`: `30s`, `2m`, `1m30s`, `500ms`, `1.5s` or seconds, from 1 ms to a week
/// (the project's one duration parser; clap names the flag in its message).
fn parse_timeout(text: &str) -> Result<Duration, durations::DurationError> {
    durations::parse("", text, durations::Bounds::TIMEOUT)
}

/// The engine options of a configuration.
pub(super) fn engine_options(loaded: &LoadedConfig) -> anyhow::Result<EngineOptions> {
    Ok(EngineOptions {
        cache_dir: Some(crate::engine::CompileCache::default_dir(Some(&loaded.root))),
        memory_cap: loaded
            .config
            .runner
            .memory_cap()
            .map_err(|m| anyhow::anyhow!("{}: {m}", loaded.path.display()))?,
        ..EngineOptions::default()
    })
}

/// Says once per component why the compile cache could not be used, if it could not.
pub(super) fn warn_about_the_cache(plan: &[PlanEntry]) {
    for entry in plan {
        if let PlanEntry::Loaded { component, .. } = entry
            && let Some(warning) = &component.cache_warning
        {
            crate::errln!("warning: {}: {warning}", component.path.display());
        }
    }
}

/// Fails with the names that exist when the selection picks nothing.
fn check_selection(plan: &[PlanEntry], args: &RunArgs) -> anyhow::Result<()> {
    let mut any_broken = false;
    let mut names = Vec::new();
    for entry in plan {
        match entry {
            PlanEntry::Loaded { selected, .. } if !selected.is_empty() => return Ok(()),
            PlanEntry::Loaded { all, .. } => names.extend(all.iter().map(|m| m.name.clone())),
            PlanEntry::Broken { .. } => any_broken = true,
        }
    }
    if any_broken {
        return Ok(());
    }
    let asked = args.select.describe();
    if names.is_empty() {
        bail!("the components hold no scenario");
    }
    bail!(
        "no scenario matches {asked}; the components hold: {}",
        names.join(", ")
    )
}

/// Runs the subcommand.
pub async fn execute(args: RunArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_config(args.config.as_deref())?;
    let outputs = Outputs::resolve(&args, &loaded.root)?;
    let Prepared {
        env_name,
        env_config,
        engine,
        plan,
    } = match prepare(&args, &loaded).await {
        Ok(prepared) => prepared,
        Err(error) => {
            report_usage_error(&outputs, &args, &error).await;
            return Err(error);
        }
    };
    let signals = Signals::install()?;
    let ctx = loaded.open_context(env_name, args.force_cleanup);
    let settings = session_settings(&args, &loaded, env_name, &ctx.run_id)?;
    if args.dry_run {
        let banner = super::dry_run::banner(env_name, env_config.kind_name());
        crate::outln!("{banner}");
    }
    let reports = Reports::start(&outputs, &args)?;
    let events = reports.sender().clone();
    announce(&events, env_name, &ctx.run_id, &plan);
    if !plan
        .iter()
        .any(|e| matches!(e, PlanEntry::Loaded { selected, .. } if !selected.is_empty()))
    {
        events.run_finished(false);
        let (report, errors) = reports.finish().await;
        print_summary(&report, &outputs, &args, env_name, &errors);
        crate::errln!(
            "error: no component could be loaded, so the environment `{env_name}` was not started"
        );
        return Ok(ExitCode::from(super::EXIT_USAGE));
    }
    let opened = open_environment(&args, env_config, &ctx, &signals).await;
    let (env, focus) = match opened {
        Ok(opened) => opened,
        Err(message) => {
            let interrupted = signals.received().is_some();
            let (kind, why) = match interrupted {
                true => (
                    ErrorKind::Interrupted,
                    "interrupted during environment start-up",
                ),
                false => (ErrorKind::Environment, message.as_str()),
            };
            report_not_run(&plan, &events, kind, why);
            events.run_finished(interrupted);
            let (_, errors) = reports.finish().await;
            errors.iter().for_each(|e| crate::errln!("error: {e}"));
            if let Some(signal) = signals.received() {
                crate::errln!("{message}");
                return Ok(ExitCode::from(128 + signal as u8));
            }
            let junit = outputs.junit.display();
            bail!("{message}\nthe JUnit report {junit} lists the scenarios that did not run");
        }
    };
    let session = Session {
        engine: &engine,
        env: env.clone(),
        focus,
        settings,
        interrupt: signals.interrupt.clone(),
    };
    session.run(&plan, &events).await;
    events.run_finished(signals.interrupt.is_triggered());
    let (report, errors) = reports.finish().await;
    env.shutdown().await;
    print_summary(&report, &outputs, &args, env_name, &errors);
    let any_broken = plan.iter().any(|e| matches!(e, PlanEntry::Broken { .. }));
    let code = match signals.received() {
        Some(signal) => 128 + signal as u8,
        None if any_broken || !errors.is_empty() => super::EXIT_USAGE,
        None if report.cases().any(|c| c.outcome.is_bad()) => 1,
        None => 0,
    };
    Ok(ExitCode::from(code))
}

/// Opens the environment, or its simulation for a dry run, and its Focus Server client; a
/// signal during start-up ends it (dropping the start kills the pods it started). The error
/// says why, for the report.
async fn open_environment(
    args: &RunArgs,
    config: &crate::config::EnvironmentConfig,
    ctx: &crate::env::OpenContext,
    signals: &Signals,
) -> Result<(Arc<dyn crate::env::Environment>, FocusClient), String> {
    let name = &ctx.name;
    let opened = if args.dry_run {
        crate::env::dry_run::open(config, ctx)
    } else {
        tokio::select! {
            opened = env::open(config, ctx) => opened,
            _ = signals.interrupt.triggered() => Err(crate::env::EnvError::Failed(
                "interrupted during environment start-up".to_owned(),
            )),
        }
    };
    let env = opened.map_err(|e| format!("cannot open the environment `{name}`: {e}"))?;
    match FocusClient::new(&env.focus_url()) {
        Ok(focus) if args.dry_run => Ok((env.clone(), focus.simulated_by(env))),
        Ok(focus) => Ok((env, focus)),
        Err(e) => {
            env.shutdown().await;
            Err(format!("environment `{name}`: {e}"))
        }
    }
}

/// The session's settings from the command line and the configuration.
fn session_settings(
    args: &RunArgs,
    loaded: &LoadedConfig,
    env_name: &str,
    run_id: &str,
) -> anyhow::Result<SessionSettings> {
    let runner = &loaded.config.runner;
    let in_config = |m: String| anyhow::anyhow!("{}: {m}", loaded.path.display());
    Ok(SessionSettings {
        timeout_override: args.timeout,
        default_timeout: runner.default_timeout()?,
        steady_timeout: runner.steady_state_timeout()?,
        limits: HostLimits {
            load_max_rate: runner.load_max_rate().map_err(in_config)?,
            ..HostLimits::default()
        },
        log_tail_lines: 100,
        check_hypothesis: !args.dry_run,
        run: Arc::new(RunContext {
            run_id: run_id.to_owned(),
            params: loaded
                .config
                .params_for(env_name)
                .into_iter()
                .chain(args.params.iter().cloned())
                .collect(),
        }),
    })
}

/// What a run needs before it touches the environment.
struct Prepared<'a> {
    env_name: &'a str,
    env_config: &'a crate::config::EnvironmentConfig,
    engine: Engine,
    plan: Vec<PlanEntry>,
}

/// Picks the environment, builds and loads the components, and checks the selection: every
/// error here is a usage error (exit 2), which the report records too.
async fn prepare<'a>(args: &RunArgs, loaded: &'a LoadedConfig) -> anyhow::Result<Prepared<'a>> {
    let (env_name, env_config) = loaded
        .config
        .environment(args.env.as_deref(), &loaded.path)?;
    let sources = resolve_paths(&args.paths);
    let engine = Engine::new(engine_options(loaded)?)?;
    let plan = load_plan(&engine, &sources, &args.select.selection()).await;
    warn_about_the_cache(&plan);
    check_selection(&plan, args)?;
    Ok(Prepared {
        env_name,
        env_config,
        engine,
        plan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_in_the_usual_forms_and_absurd_ones_refused() {
        assert_eq!(parse_timeout("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "0s", "ten seconds", "-3", "1e30", "1e19", "nan"] {
            assert!(parse_timeout(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn params_are_name_equals_value() {
        assert_eq!(parse_param("sla_s=2.5"), Ok(("sla_s".into(), "2.5".into())));
        assert_eq!(parse_param("q=a=b"), Ok(("q".into(), "a=b".into())));
        assert_eq!(parse_param("empty="), Ok(("empty".into(), String::new())));
        for bad in ["sla_s", "=5", ""] {
            assert!(parse_param(bad).is_err(), "{bad} was accepted");
        }
    }
}
