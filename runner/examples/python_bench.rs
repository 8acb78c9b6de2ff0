//! Python beside Rust, for the same scenarios (`noop` and a failing check): build time,
//! component size, cold compile, cached load, instantiate, and the per-scenario overhead
//! against the memory environment, printed beside the Python targets.
//!
//! ```sh
//! cargo run --release -p scenario-runner --example python_bench
//! ```
//!
//! It builds the Rust fixture (`runner/tests/fixtures`, cargo) and the Python fixture
//! (`runner/tests/fixtures/python-endings`, componentize-py from `.venv`) from scratch first.
//! Figures are medians of repeated runs, measured on this machine, in this run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scenario_runner::cli::python_guest;
use scenario_runner::engine::{EngineOptions, ScenarioMeta};
use scenario_runner::env::memory::{MemoryConfig, MemoryEnvironment};
use scenario_runner::env::{Environment, OpenContext};
use scenario_runner::host::{FocusClient, ScenarioHost};
use scenario_runner::run::{Engine, EventSender, Session, SessionSettings};

/// What was measured for one language.
struct Figures {
    build: Duration,
    size: u64,
    cold: Duration,
    warm: Duration,
    cached: Duration,
    instantiate: Duration,
    noop: Duration,
    failing: Duration,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn show(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1e3)
    } else {
        format!("{ms:.2} ms")
    }
}

fn build_rust(root: &Path) -> (PathBuf, Duration) {
    let target = root.join("target/bench-rust-build");
    let _ = std::fs::remove_dir_all(&target);
    let started = Instant::now();
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root.join("runner/tests/fixtures"))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            "runner-fixture",
        ])
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the Rust fixture failed");
    let built = started.elapsed();
    let wasm = root.join("target/bench-rust.wasm");
    std::fs::copy(
        target.join("wasm32-wasip2/release/runner_fixture.wasm"),
        &wasm,
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&target);
    (wasm, built)
}

fn build_python(root: &Path) -> (PathBuf, Duration) {
    let _ = std::fs::remove_dir_all(root.join("target/scenario-wasm/python/python_endings"));
    let started = Instant::now();
    let wasm = python_guest::build(&root.join("runner/tests/fixtures/python-endings"))
        .unwrap_or_else(|e| panic!("{e}"));
    (wasm, started.elapsed())
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

/// Removes the compiled components and the content index from `cache`, keeping
/// `functions/`.
fn forget_components(cache: &Path) {
    for entry in std::fs::read_dir(cache).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "functions") {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
}

async fn measure(root: &Path, wasm: &Path, build: Duration, failing: &str) -> Figures {
    let size = std::fs::metadata(wasm).unwrap().len();
    let cache = root.join(format!("target/bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let engine = Engine::new(EngineOptions {
        cache_dir: Some(cache.clone()),
        ..EngineOptions::default()
    })
    .unwrap();
    let started = Instant::now();
    let component = engine.load(wasm).unwrap_or_else(|e| panic!("{e}"));
    let cold = started.elapsed();
    assert!(!component.from_cache);
    // What a changed package costs: the compiled component gone, the function cache kept.
    forget_components(&cache);
    let started = Instant::now();
    let component = engine.load(wasm).unwrap_or_else(|e| panic!("{e}"));
    let warm = started.elapsed();
    assert!(!component.from_cache);
    let mut cached = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let component = engine.load(wasm).unwrap();
        cached.push(started.elapsed());
        assert!(component.from_cache);
    }
    let mut instantiate = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        engine
            .instantiate(&component, ScenarioHost::detached())
            .await
            .unwrap();
        instantiate.push(started.elapsed());
    }
    let env = memory_env(root);
    let session = Session {
        engine: &engine,
        env: env.clone(),
        focus: FocusClient::new(&env.focus_url()).unwrap(),
        settings: SessionSettings::default(),
        interrupt: Default::default(),
    };
    let whole = |name: &str| {
        let meta = ScenarioMeta {
            name: name.into(),
            description: String::new(),
            tags: Vec::new(),
            key: None,
            timeout: Some(Duration::from_secs(5)),
        };
        let (engine, session) = (&engine, &session);
        async move {
            let started = Instant::now();
            let component = engine.load(wasm).unwrap();
            let case = session
                .run_case(&component, "bench", &meta, false, &EventSender::detached())
                .await;
            std::hint::black_box(case);
            started.elapsed()
        }
    };
    let mut noop = Vec::new();
    let mut failed = Vec::new();
    for _ in 0..30 {
        noop.push(whole("noop").await);
        failed.push(whole(failing).await);
    }
    let _ = std::fs::remove_dir_all(&cache);
    Figures {
        build,
        size,
        cold,
        warm,
        cached: median(cached),
        instantiate: median(instantiate),
        noop: median(noop),
        failing: median(failed),
    }
}

#[tokio::main]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let (rust_wasm, rust_build) = build_rust(&root);
    let (python_wasm, python_build) = build_python(&root);
    let rust = measure(&root, &rust_wasm, rust_build, "fails_an_assertion").await;
    let python = measure(&root, &python_wasm, python_build, "fails_a_check").await;

    println!("Python beside Rust ({profile} build of the runner, memory environment)\n");
    println!("{:<52} {:>12} {:>12}   Python target", "", "Rust", "Python");
    let row = |what: &str, r: String, p: String, target: &str| {
        println!("{what:<52} {r:>12} {p:>12}   {target}");
    };
    let mb = |b: u64| format!("{:.1} MB", b as f64 / 1e6);
    row(
        "build from scratch (cargo / componentize-py)",
        show(rust.build),
        show(python.build),
        "",
    );
    row("component size", mb(rust.size), mb(python.size), "");
    row(
        "cold compile (empty cache)",
        show(rust.cold),
        show(python.cold),
        "",
    );
    row(
        "compile again, function cache warm",
        show(rust.warm),
        show(python.warm),
        "",
    );
    row(
        "cached load (median of 20)",
        show(rust.cached),
        show(python.cached),
        "",
    );
    row(
        "instantiate (median of 50)",
        show(rust.instantiate),
        show(python.instantiate),
        "",
    );
    let within = |value: Duration, limit: Duration| {
        let mark = if value <= limit { "within" } else { "OVER" };
        format!("<= {} ({mark})", show(limit))
    };
    row(
        "cached load + instantiate",
        show(rust.cached + rust.instantiate),
        show(python.cached + python.instantiate),
        &within(
            python.cached + python.instantiate,
            Duration::from_millis(10),
        ),
    );
    row(
        "per-scenario overhead, noop (median of 30)",
        show(rust.noop),
        show(python.noop),
        &within(python.noop, Duration::from_millis(15)),
    );
    row(
        "per-scenario overhead, a failing scenario",
        show(rust.failing),
        show(python.failing),
        "",
    );
    println!(
        "\n(per-scenario = cached load + instantiate + steady-state check + run + rollback + steady-state wait)"
    );
}
