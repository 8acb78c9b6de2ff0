//! `scenario-runner new`: the crate it writes builds and lists its scenarios through the real
//! binary, with the SDK path already right; an existing folder is never overwritten.

use std::path::Path;
use std::time::Duration;

use crate::support::{Scratch, run_within, runner, workspace_root};

/// The scenarios of `scenarios-sdk/template/src/lib.rs`.
const TEMPLATE_SCENARIOS: [&str; 4] = [
    "focus_server_fast_failover",
    "job_stop_releases_resources",
    "live_job_runs_during_outage",
    "recordings_lookup_answers",
];

#[test]
fn a_new_crate_builds_and_lists_its_scenarios() {
    let scratch = Scratch::new("new-crate");
    let dir = scratch.path.join("checks").join("outage-checks");
    let made = run_within(
        runner(&scratch.path)
            .args(["new", "outage-checks", "--lang", "rust", "--path"])
            .arg(&dir),
        Duration::from_secs(30),
    );
    assert_eq!(made.code, 0, "new failed:\n{}{}", made.stdout, made.stderr);
    assert!(
        made.stdout.contains("scenario-runner list"),
        "{}",
        made.stdout
    );

    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"outage-checks\""), "{manifest}");
    let sdk_line = manifest
        .lines()
        .find(|l| l.starts_with("scenarios-sdk = "))
        .unwrap_or_else(|| panic!("no scenarios-sdk dependency:\n{manifest}"));
    let sdk_path = sdk_line.split('"').nth(1).unwrap();
    assert!(
        Path::new(sdk_path).is_relative(),
        "the SDK path should be relative to the crate: {sdk_line}"
    );
    assert_eq!(
        std::fs::canonicalize(dir.join(sdk_path)).unwrap(),
        std::fs::canonicalize(workspace_root().join("scenarios-sdk")).unwrap(),
        "{sdk_line} does not lead to this checkout's SDK"
    );

    // The workspace's lock file and target folder, so the build reuses what the workspace built.
    std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let listed = run_within(
        runner(&scratch.path)
            .env("CARGO_TARGET_DIR", workspace_root().join("target"))
            .arg("list")
            .arg(&dir),
        Duration::from_secs(600),
    );
    assert_eq!(
        listed.code, 0,
        "list failed:\n{}{}",
        listed.stdout, listed.stderr
    );
    for name in TEMPLATE_SCENARIOS {
        assert!(
            listed.stdout.contains(name),
            "{name} not listed:\n{}",
            listed.stdout
        );
    }
}

#[test]
fn a_new_python_package_builds_and_lists_its_scenario() {
    let scratch = Scratch::new("new-python");
    let dir = scratch.path.join("py").join("outage-checks");
    let made = run_within(
        runner(&scratch.path)
            .args(["new", "outage-checks", "--lang", "python", "--path"])
            .arg(&dir),
        Duration::from_secs(30),
    );
    assert_eq!(made.code, 0, "new failed:\n{}{}", made.stdout, made.stderr);
    assert!(
        made.stdout.contains("Python scenario package"),
        "{}",
        made.stdout
    );
    let manifest = std::fs::read_to_string(dir.join("pyproject.toml")).unwrap();
    let parsed: toml::Value = toml::from_str(&manifest).unwrap();
    let sdk = parsed["tool"]["focus-scenarios"]["sdk"].as_str().unwrap();
    assert!(Path::new(sdk).is_relative(), "{manifest}");
    assert_eq!(
        std::fs::canonicalize(dir.join(sdk)).unwrap(),
        std::fs::canonicalize(workspace_root().join("scenarios-sdk-py")).unwrap(),
        "sdk = {sdk:?} does not lead to this checkout's Python SDK"
    );

    let listed = run_within(
        runner(&scratch.path).arg("list").arg(&dir),
        Duration::from_secs(300),
    );
    assert_eq!(
        listed.code, 0,
        "list failed:\n{}{}",
        listed.stdout, listed.stderr
    );
    assert!(
        listed.stdout.contains("outage_checks (")
            && listed.stdout.contains("focus_server_fast_failover"),
        "{}",
        listed.stdout
    );
}

#[test]
fn new_never_overwrites_a_folder() {
    let scratch = Scratch::new("new-exists");
    let dir = scratch.path.join("taken");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), "mine").unwrap();
    let refused = run_within(
        runner(&scratch.path).args(["new", "taken"]),
        Duration::from_secs(30),
    );
    assert_eq!(refused.code, 2, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("already exists"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.txt")).unwrap(),
        "mine"
    );
    assert!(!dir.join("Cargo.toml").exists());

    let bad = run_within(
        runner(&scratch.path).args(["new", "1 bad name"]),
        Duration::from_secs(30),
    );
    assert_eq!(bad.code, 2, "{}{}", bad.stdout, bad.stderr);
    assert!(bad.stderr.contains("cannot name a crate"), "{}", bad.stderr);
}
