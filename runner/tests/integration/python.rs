//! Python scenario packages (and one JavaScript component), through the real binary:
//! - a package is built with componentize-py, listed, run, and found in the cache the second
//!   time; each way a Python scenario ends gets its JUnit outcome (memory environment);
//! - a syntax error and an import error are exit 2 with the file and line; a missing
//!   componentize-py is exit 2 naming `./scripts/setup`;
//! - on the local environment, `scenarios-py/` passes against the resilient Focus Server, with
//!   a JavaScript `basic_connectivity` built by componentize-js beside it, and its
//!   `focus_server_fast_failover` fails against the old configuration (the meta-test).
//!
//! The 18 MB components are compiled once into the workspace's compile cache
//! (`target/scenario-cache`), which every test here shares.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use testkit::{Scratch, free_port, workspace_root};

use crate::support::*;

/// A runner command with the workspace's compile cache, so that the Python component is
/// compiled once for all the tests.
fn py_runner(dir: &Path) -> Command {
    let mut cmd = runner(dir);
    cmd.env(
        "SCENARIO_RUNNER_CACHE",
        workspace_root().join("target").join("scenario-cache"),
    );
    cmd
}

fn endings_package() -> PathBuf {
    fixture_workspace().join("python-endings")
}

/// Builds and compiles the endings package once per test binary (`list` does both), and
/// returns what the first `list` said on stderr.
fn endings_listed() -> &'static Ran {
    static LISTED: OnceLock<Ran> = OnceLock::new();
    LISTED.get_or_init(|| {
        let sim = SimConfig::new();
        let ran = run_within(
            py_runner(&sim.scratch.path)
                .arg("list")
                .arg(endings_package())
                .args(["--config"])
                .arg(&sim.path),
            Duration::from_secs(600),
        );
        assert_eq!(
            ran.code, 0,
            "list of the Python package\nstdout:\n{}\nstderr:\n{}",
            ran.stdout, ran.stderr
        );
        ran
    })
}

#[test]
fn a_python_package_is_built_once_and_listed() {
    let first = endings_listed();
    for name in [
        "passes",
        "fails_a_check",
        "fails_a_plain_assert",
        "skips",
        "meets_a_host_error",
        "raises",
    ] {
        assert!(
            first.stdout.contains(name),
            "{name} not listed:\n{}",
            first.stdout
        );
    }
    assert!(first.stdout.contains("PY-1"), "{}", first.stdout);
    let sim = SimConfig::new();
    let again = run(py_runner(&sim.scratch.path)
        .arg("list")
        .arg(endings_package())
        .arg("--config")
        .arg(&sim.path));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        !again.stderr.contains("building"),
        "the second list built the package again:\n{}",
        again.stderr
    );
    assert_eq!(again.stdout, first.stdout);
}

#[test]
fn every_python_ending_gets_its_junit_outcome() {
    endings_listed();
    let sim = SimConfig::new();
    let junit = sim.junit();
    let ran = run(py_runner(&sim.scratch.path)
        .arg("run")
        .arg(endings_package())
        .arg("--config")
        .arg(&sim.path)
        .args(["--param", "greeting=hello", "--junit"])
        .arg(&junit));
    assert_eq!(
        ran.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        ran.stdout, ran.stderr
    );
    let cases = read_report(&junit);
    let expect = |name: &str, outcome: &str, ty: &str, needles: &[&str]| {
        expect_case(&cases, name, outcome, ty, needles)
    };
    let passed = expect("passes", "passed", "", &[]);
    let property = |c: &Case, key: &str| {
        c.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        property(passed, "answer").as_deref(),
        Some("42"),
        "{passed:#?}"
    );
    assert_eq!(
        property(passed, "greeting").as_deref(),
        Some("hello"),
        "{passed:#?}"
    );
    assert_eq!(
        property(passed, "test_key").as_deref(),
        Some("PY-1"),
        "{passed:#?}"
    );
    assert!(
        passed.system_out.contains("scaled mongodb to 0"),
        "{passed:#?}"
    );
    expect(
        "fails_a_check",
        "failure",
        "assertion",
        &["recovery took 12.00 s, over the 10.00 s limit"],
    );
    expect(
        "fails_a_plain_assert",
        "failure",
        "assertion",
        &["check failed: assert jobs == 0", "endings.py:"],
    );
    expect("skips", "skipped", "", &["needs a Kubernetes cluster"]);
    expect("meets_a_host_error", "error", "host-error", &["redis"]);
    expect(
        "raises",
        "error",
        "exception",
        &[
            "ZeroDivisionError: division by zero",
            "Traceback (most recent call last)",
            "endings.py",
        ],
    );
    assert_restored(&sim.operations());
}

/// A package in `scratch` whose `bad` module holds `source`.
fn broken_package(scratch: &Scratch, source: &str) -> PathBuf {
    let package = scratch.path.join("broken");
    std::fs::create_dir_all(&package).unwrap();
    let sdk = workspace_root().join("scenarios-sdk-py");
    std::fs::write(
        package.join("pyproject.toml"),
        format!(
            "[tool.focus-scenarios]\nname = \"broken\"\nmodules = [\"bad\"]\nsdk = \"{}\"\n",
            sdk.display()
        ),
    )
    .unwrap();
    std::fs::write(package.join("bad.py"), source).unwrap();
    package
}

fn componentize_py() -> PathBuf {
    let tool = workspace_root().join(".venv/bin/componentize-py");
    assert!(
        tool.is_file(),
        "run ./scripts/setup: {} is missing",
        tool.display()
    );
    tool
}

#[test]
fn a_syntax_error_or_an_import_error_is_exit_2_with_the_file_and_line() {
    let scratch = Scratch::new("python-broken");
    for (source, needles) in [
        (
            "from focus_scenarios import scenario\n\ndef broken(:\n    pass\n",
            &["bad.py\", line 3", "SyntaxError"][..],
        ),
        (
            "import focus_scenarios\nimport no_such_module\n",
            &[
                "bad.py\", line 2",
                "ModuleNotFoundError: No module named 'no_such_module'",
            ][..],
        ),
    ] {
        let package = broken_package(&scratch, source);
        let ran = run(runner(&scratch.path)
            .env("COMPONENTIZE_PY", componentize_py())
            .arg("list")
            .arg(&package));
        assert_eq!(
            ran.code, 2,
            "stdout:\n{}\nstderr:\n{}",
            ran.stdout, ran.stderr
        );
        for needle in needles {
            assert!(
                ran.stderr.contains(needle),
                "no `{needle}` in:\n{}",
                ran.stderr
            );
        }
        assert!(
            ran.stderr.contains(&package.display().to_string()),
            "the message does not name the package:\n{}",
            ran.stderr
        );
        assert!(!ran.stderr.contains("Stack backtrace"), "{}", ran.stderr);
    }
}

#[test]
fn a_missing_componentize_py_is_exit_2_naming_setup() {
    let scratch = Scratch::new("python-no-tool");
    let package = broken_package(&scratch, "import focus_scenarios\n");
    let ran = run(runner(&scratch.path)
        .env("COMPONENTIZE_PY", scratch.path.join("no-such-tool"))
        .arg("list")
        .arg(&package));
    assert_eq!(
        ran.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        ran.stdout, ran.stderr
    );
    assert!(ran.stderr.contains("./scripts/setup"), "{}", ran.stderr);
    assert!(ran.stderr.contains("componentize-py"), "{}", ran.stderr);
}

/// A copy of the workspace's `runner.toml` in `scratch`, with free service ports and extra
/// Focus Server flags, and a link to the workspace's `.venv` beside it.
fn local_config(scratch: &Scratch, focus_flags: &str) -> PathBuf {
    let root = workspace_root();
    let original = std::fs::read_to_string(root.join("runner.toml")).expect("read runner.toml");
    let mut config = String::new();
    for line in original.lines() {
        let line = match line.trim() {
            l if l.starts_with("service_port = ") => format!("service_port = {}", free_port()),
            l if l.starts_with("command = \"{exe:focus-server}") => {
                format!("{}{focus_flags}\"", l.trim_end_matches('"'))
            }
            _ => line.to_owned(),
        };
        config.push_str(&line);
        config.push('\n');
    }
    if root.join(".venv").exists() {
        std::os::unix::fs::symlink(root.join(".venv"), scratch.path.join(".venv")).unwrap();
    }
    let path = scratch.path.join("runner.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// Builds the JavaScript smoke fixture with componentize-js from `.js-tools` (`./scripts/setup`
/// installs it) into `scratch`.
fn javascript_smoke(scratch: &Scratch) -> PathBuf {
    let tool = workspace_root().join(".js-tools/node_modules/.bin/componentize-js");
    assert!(
        tool.is_file(),
        "componentize-js is missing at {}: run ./scripts/setup (it needs npm)",
        tool.display()
    );
    let output = scratch.path.join("javascript_smoke.wasm");
    let built = Command::new(&tool)
        .arg(fixture_workspace().join("js-smoke/scenarios.js"))
        .arg("--wit")
        .arg(workspace_root().join("wit/scenario.wit"))
        // The world imports no wasi:http, and the runner links none: leave StarlingMonkey's out.
        .args([
            "--world-name",
            "scenario",
            "--disable",
            "http",
            "fetch-event",
            "--out",
        ])
        .arg(&output)
        .output()
        .expect("run componentize-js");
    assert!(
        built.status.success(),
        "componentize-js failed:\n{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    output
}

#[test]
fn the_python_suite_and_a_javascript_smoke_pass_against_the_resilient_focus_server() {
    let _ = testkit::workspace_bin("focus-server");
    let scratch = Scratch::new("python-suite");
    let config = local_config(&scratch, "");
    let smoke = javascript_smoke(&scratch);
    let junit = scratch.path.join("junit.xml");
    let ran = run_within(
        py_runner(&workspace_root())
            .arg("run")
            .arg(workspace_root().join("scenarios-py"))
            .arg(&smoke)
            .arg("--config")
            .arg(&config)
            .arg("--junit")
            .arg(&junit),
        Duration::from_secs(900),
    );
    assert_eq!(
        ran.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        ran.stdout, ran.stderr
    );
    let cases = read_report(&junit);
    for name in [
        "focus_server_fast_failover",
        "mongodb_pod_restart_resilience",
        "mongodb_network_block_returns_503",
        "live_configure_unaffected_by_mongodb_outage",
        "basic_connectivity",
    ] {
        assert_eq!(case(&cases, name).outcome, "passed", "{name}: {cases:#?}");
    }
    assert_eq!(case(&cases, "basic_connectivity").suite, "javascript_smoke");
    assert_eq!(
        case(&cases, "focus_server_fast_failover").suite,
        "focus_outage_scenarios_py"
    );
}

#[test]
fn the_python_meta_test_fails_fast_failover_against_the_old_configuration() {
    let _ = testkit::workspace_bin("focus-server");
    let scratch = Scratch::new("python-meta");
    let config = local_config(&scratch, " --db-timeout 30s --fail-fast off");
    let junit = scratch.path.join("junit.xml");
    let ran = run_within(
        py_runner(&workspace_root())
            .arg("run")
            .arg(workspace_root().join("scenarios-py"))
            .args(["--scenario", "focus_server_fast_failover", "--config"])
            .arg(&config)
            .arg("--junit")
            .arg(&junit),
        Duration::from_secs(600),
    );
    assert_eq!(
        ran.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        ran.stdout, ran.stderr
    );
    let cases = read_report(&junit);
    let failover = case(&cases, "focus_server_fast_failover");
    assert_eq!(failover.outcome, "failure", "{failover:#?}");
    assert!(
        failover.message.contains("over the 5.00 s limit"),
        "{failover:#?}"
    );
    let took: f64 = failover
        .message
        .split(" after ")
        .nth(1)
        .and_then(|rest| rest.split(" s").next())
        .and_then(|figure| figure.parse().ok())
        .unwrap_or_else(|| panic!("no time in {:?}", failover.message));
    assert!(took > 5.0, "{failover:#?}");
}
