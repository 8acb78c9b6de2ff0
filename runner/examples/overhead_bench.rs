//! What the runner itself costs, printed beside the targets: cold compile, cached load,
//! instantiate, one guest-to-host call, and the whole per-scenario overhead against the memory
//! environment (cached load + instantiate + steady-state check + run + rollback + report line).
//!
//! ```sh
//! cargo run --release -p scenario-runner --example overhead_bench
//! ```
//!
//! It builds the test fixture component (`runner/tests/fixtures`) for wasm32-wasip2 first.
//! Figures are medians of repeated runs, measured on this machine, in this run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scenario_runner::engine::{EngineOptions, GuestOutcome, Interrupt, RunControl, ScenarioMeta};
use scenario_runner::env::memory::{MemoryConfig, MemoryEnvironment};
use scenario_runner::env::{Environment, OpenContext};
use scenario_runner::host::{FocusClient, ScenarioHost};
use scenario_runner::report::{RunReport, SuiteReport, junit, summary};
use scenario_runner::run::{Engine, EventSender, Session, SessionSettings};

fn build_fixture(root: &Path) -> PathBuf {
    let target = root.join("target").join("scenario-wasm");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root.join("runner/tests/fixtures"))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            "runner-fixture",
            "--target-dir",
        ])
        .arg(&target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the fixture component failed");
    target.join("wasm32-wasip2/release/runner_fixture.wasm")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn show(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn verdict(value: Duration, target: Duration) -> String {
    let mark = if value <= target { "within" } else { "OVER" };
    format!("target <= {} ({mark})", show(target))
}

fn memory_env(root: &Path) -> Arc<dyn Environment> {
    let config: MemoryConfig = toml::from_str(
        "[workloads.mongodb]\nreplicas = 1\n[workloads.focus-server]\nreplicas = 1\n",
    )
    .unwrap();
    let ctx = OpenContext {
        name: "bench".into(),
        run_id: "bench".into(),
        config_dir: root.to_owned(),
        run_dir: root.join("target"),
        force_cleanup: false,
    };
    Arc::new(MemoryEnvironment::new(&config, &ctx).unwrap())
}

#[tokio::main]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    let wasm = build_fixture(&root);
    let size = std::fs::metadata(&wasm).unwrap().len();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("scenario-runner overhead ({profile} build of the runner, memory environment)");
    println!(
        "component: {} ({:.1} MB, 17 scenarios)\n",
        wasm.display(),
        size as f64 / 1e6
    );

    // Cold compile: an empty cache each time, so compile + check + link + write the entry.
    let mut cold = Vec::new();
    for i in 0..3 {
        let dir = root.join(format!("target/bench-cache-{}-{i}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let engine = Engine::new(EngineOptions {
            cache_dir: Some(dir.clone()),
            ..EngineOptions::default()
        })
        .unwrap();
        let started = Instant::now();
        let component = engine.load(&wasm).unwrap();
        cold.push(started.elapsed());
        assert!(!component.from_cache);
        let _ = std::fs::remove_dir_all(&dir);
    }

    let cache = root.join(format!("target/bench-cache-{}", std::process::id()));
    let engine = Engine::new(EngineOptions {
        cache_dir: Some(cache.clone()),
        ..EngineOptions::default()
    })
    .unwrap();
    engine.load(&wasm).unwrap();
    let mut cached = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let component = engine.load(&wasm).unwrap();
        cached.push(started.elapsed());
        assert!(component.from_cache);
    }
    let component = engine.load(&wasm).unwrap();

    let mut instantiate = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        engine
            .instantiate(&component, ScenarioHost::detached())
            .await
            .unwrap();
        instantiate.push(started.elapsed());
    }

    // Host calls: the 100k-call scenario minus the noop one, per call.
    let run = |name: &'static str| {
        let engine = &engine;
        let component = &component;
        async move {
            let control = RunControl::new(Duration::from_secs(60), Interrupt::default());
            let started = Instant::now();
            let result = engine
                .run(component, name, ScenarioHost::detached(), &control)
                .await;
            assert_eq!(result.result, Ok(GuestOutcome::Passed), "{name}");
            started.elapsed()
        }
    };
    let mut noop_runs = Vec::new();
    let mut loop_runs = Vec::new();
    for _ in 0..7 {
        noop_runs.push(run("noop").await);
        loop_runs.push(run("calls_the_host_100k_times").await);
    }
    let per_call = median(loop_runs).saturating_sub(median(noop_runs)) / 100_000;

    // The whole per-scenario overhead against the memory environment.
    let env = memory_env(&root);
    let session = Session {
        engine: &engine,
        env: env.clone(),
        focus: FocusClient::new(&env.focus_url()).unwrap(),
        settings: SessionSettings::default(),
        interrupt: Interrupt::default(),
    };
    let scenario = |name: &str| ScenarioMeta {
        name: name.into(),
        description: String::new(),
        tags: Vec::new(),
        key: None,
        timeout: Some(Duration::from_secs(5)),
    };
    let whole = |name: &'static str| {
        let (engine, session, wasm) = (&engine, &session, &wasm);
        let meta = scenario(name);
        async move {
            let started = Instant::now();
            let component = engine.load(wasm).unwrap();
            let case = session
                .run_case(
                    &component,
                    "runner_fixture",
                    &meta,
                    false,
                    &EventSender::detached(),
                )
                .await;
            let line = summary::case_line(&case);
            let report = RunReport {
                environment: "bench".into(),
                started: std::time::SystemTime::now(),
                elapsed: case.elapsed,
                interrupted: false,
                suites: vec![SuiteReport {
                    name: "runner_fixture".into(),
                    path: wasm.clone(),
                    started: std::time::SystemTime::now(),
                    elapsed: case.elapsed,
                    cases: vec![case],
                }],
            };
            let xml = junit::to_xml(&report).unwrap();
            std::hint::black_box((line, xml));
            started.elapsed()
        }
    };
    let mut noop_whole = Vec::new();
    let mut rollback_whole = Vec::new();
    for _ in 0..100 {
        noop_whole.push(whole("noop").await);
        rollback_whole.push(whole("fails_an_assertion").await);
    }
    let _ = std::fs::remove_dir_all(&cache);

    let load_plus_instantiate = median(cached.clone()) + median(instantiate.clone());
    println!(
        "cold compile (empty cache: compile, check, link, write)  median {:>10} of 3",
        show(median(cold))
    );
    println!(
        "cached load (from the compile cache)                     median {:>10} of 30",
        show(median(cached))
    );
    println!(
        "instantiate (fresh store + instance)                     median {:>10} of 300",
        show(median(instantiate))
    );
    println!(
        "cached load + instantiate                                       {:>10}   {}",
        show(load_plus_instantiate),
        verdict(load_plus_instantiate, Duration::from_millis(5))
    );
    println!(
        "guest-to-host call (100k calls of `now`, minus a noop run)      {:>10}   {}",
        show(per_call),
        verdict(per_call, Duration::from_micros(5))
    );
    let noop_median = median(noop_whole.clone());
    println!(
        "per-scenario overhead, noop scenario                     median {:>10}   p90 {:>10}   {}",
        show(noop_median),
        show(percentile(noop_whole, 0.9)),
        verdict(noop_median, Duration::from_millis(10))
    );
    let rollback_median = median(rollback_whole.clone());
    println!(
        "per-scenario overhead, scale + failure + 1-step rollback median {:>10}   p90 {:>10}   {}",
        show(rollback_median),
        show(percentile(rollback_whole, 0.9)),
        verdict(rollback_median, Duration::from_millis(10))
    );
    println!(
        "\n(per-scenario = cached load + instantiate + steady-state check + run + rollback + steady-state wait + report line and JUnit XML; 100 runs each)"
    );
}
