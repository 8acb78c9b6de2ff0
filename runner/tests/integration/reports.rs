//! The run's reports on every path: `--events` follows the run in order, every exit path that
//! knows its report's place writes one, a signal during start-up lists what did not run, and
//! `--dry-run` touches nothing.

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use crate::support;

use support::*;

/// The JSON lines of an `--events` file.
fn read_events(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn named<'a>(events: &'a [serde_json::Value], name: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

#[test]
fn the_events_file_follows_the_run_in_order() {
    let sim = SimConfig::new();
    let events_path = sim.scratch.path.join("out").join("events.jsonl");
    let junit = sim.junit();
    let ran = run(runner(&sim.scratch.path)
        .args(["run", "--scenario", "panics", "--junit"])
        .arg(&junit)
        .arg("--events")
        .arg(&events_path)
        .arg(&fixtures().guest));
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("Run events: "), "{}", ran.stderr);
    check_junit(&junit);

    let events = read_events(&events_path);
    let first = events.first().unwrap();
    assert_eq!(
        (first["event"].as_str(), first["schema"].as_u64()),
        (Some("run-started"), Some(1))
    );
    let last = events.last().unwrap();
    assert_eq!(last["event"], "run-finished", "{last}");
    assert_eq!(last["counts"]["errors"], 1, "{last}");
    let times: Vec<f64> = events.iter().map(|e| e["t"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let applied = named(&events, "fault-applied");
    let labels: Vec<&str> = applied
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["mongodb scaled to 0", "focus-server blocked (refuse)"]
    );
    for fault in &applied {
        assert_eq!(fault["scenario"], "panics", "{fault}");
        let removed = named(&events, "fault-removed")
            .into_iter()
            .filter(|r| r["fault"] == fault["fault"])
            .count();
        assert_eq!(removed, 1, "fault {} is removed once", fault["fault"]);
    }
    assert_eq!(named(&events, "undo-step").len(), 2);
    let finished = named(&events, "scenario-finished");
    assert_eq!(finished.len(), 1);
    assert_eq!(
        (
            finished[0]["outcome"].as_str(),
            finished[0]["kind"].as_str()
        ),
        (Some("error"), Some("panic")),
        "{}",
        finished[0]
    );
}

/// The one case of the checked report at `junit`, an error of type `ty`.
fn only_error(junit: &std::path::Path, ty: &str) -> Vec<Case> {
    check_junit(junit);
    let cases = read_report(junit);
    assert_eq!(cases.len(), 1, "{cases:#?}");
    assert_eq!(
        (cases[0].outcome.as_str(), cases[0].ty.as_str()),
        ("error", ty)
    );
    cases
}

#[test]
fn a_missing_path_a_broken_build_and_an_unknown_scenario_each_write_a_report() {
    let sim = SimConfig::new();
    let junit = sim.junit();

    let ran = run(runner(&sim.scratch.path)
        .args(["run", "does-not-exist.wasm", "--junit"])
        .arg(&junit));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("environment `sim` was not started"),
        "{}",
        ran.stderr
    );
    let cases = only_error(&junit, "load");
    assert!(
        cases[0]
            .message
            .contains("does-not-exist.wasm: no such file or folder"),
        "{:#?}",
        cases[0]
    );
    assert!(
        sim.operations().is_empty(),
        "the environment was not opened"
    );

    let package = sim.scratch.path.join("broken-scenarios");
    std::fs::create_dir_all(package.join("src")).unwrap();
    std::fs::write(
        package.join("Cargo.toml"),
        "[package]\nname = \"broken-scenarios\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
         [lib]\ncrate-type = [\"cdylib\"]\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(package.join("src/lib.rs"), "pub fn oops( {\n").unwrap();
    let ran = run(runner(&sim.scratch.path)
        .arg("run")
        .arg(&package)
        .arg("--junit")
        .arg(&junit));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    let cases = only_error(&junit, "load");
    assert!(
        cases[0]
            .message
            .contains("broken-scenarios for wasm32-wasip2 failed"),
        "{:#?}",
        cases[0]
    );
    assert!(
        cases[0].body.contains("error"),
        "cargo's messages are kept: {:#?}",
        cases[0]
    );

    let ran = run(runner(&sim.scratch.path)
        .args(["run", "--scenario", "nope", "--junit"])
        .arg(&junit)
        .arg(&fixtures().guest));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("no scenario matches --scenario nope"),
        "{}",
        ran.stderr
    );
    let cases = only_error(&junit, "usage");
    assert!(
        cases[0]
            .message
            .contains("no scenario matches --scenario nope"),
        "{:#?}",
        cases[0]
    );
}

/// A local environment whose programs do not exist and a Kubernetes one whose API server is a
/// listener that must never see a connection.
fn untouchable_environments(sim: &SimConfig, api: &TcpListener) {
    let kubeconfig = sim.scratch.path.join("kubeconfig");
    let server = format!("https://{}", api.local_addr().unwrap());
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: c\n  context:\n    cluster: k\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    let mut text = std::fs::read_to_string(&sim.path).unwrap();
    text.push_str(
        "[environments.lab]\nkind = \"local\"\n\
         [environments.lab.workloads.mongodb]\ncommand = \"/nonexistent/mongod --port {port}\"\nservice_port = 1\nreadiness = \"mongodb ping\"\n\
         [environments.lab.workloads.focus-server]\ncommand = \"/nonexistent/focus-server\"\nservice_port = 2\nreadiness = \"http GET /health\"\n\
         [environments.cluster]\nkind = \"kubernetes\"\nkubeconfig = \"kubeconfig\"\n\
         [environments.cluster.workloads.mongodb]\nkind = \"Deployment\"\nname = \"mongodb\"\nselector = \"app=mongodb\"\nreplicas = 1\n\
         [environments.cluster.workloads.focus-server]\nkind = \"Deployment\"\nname = \"focus-server\"\nselector = \"app=focus-server\"\nreplicas = 1\n\
         [environments.cluster.services.focus-server]\nworkload = \"focus-server\"\nport = 5000\nprotocol = \"http\"\n",
    );
    std::fs::write(&sim.path, text).unwrap();
}

#[test]
fn a_dry_run_prints_each_change_and_undo_and_touches_nothing() {
    let sim = SimConfig::new();
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    api.set_nonblocking(true).unwrap();
    untouchable_environments(&sim, &api);
    for env in ["lab", "cluster"] {
        let ran = run(runner(&sim.scratch.path)
            .args(["run", "--dry-run", "--env", env, "--scenario", "panics"])
            .arg(&fixtures().guest));
        assert_eq!(ran.code, 1, "{env}: {}\n{}", ran.stdout, ran.stderr);
        for expected in [
            "DRY RUN against a simulation of",
            "answered 503 while any workload is below its declared replicas",
            "runner_fixture::panics",
            "would change   mongodb scaled to 0",
            "would undo     scale mongodb back to 1 replica",
            "ERROR",
            "no JUnit report written",
        ] {
            assert!(
                ran.stdout.contains(expected),
                "{env}: `{expected}` in\n{}",
                ran.stdout
            );
        }
    }
    assert!(
        matches!(api.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the Kubernetes API was contacted"
    );
    assert!(
        !sim.scratch
            .path
            .join("target/scenario-reports/junit.xml")
            .exists(),
        "a dry run writes no report unless asked"
    );
}

#[test]
fn a_signal_during_start_up_lists_every_selected_scenario_as_skipped() {
    let sim = SimConfig::new();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut text = std::fs::read_to_string(&sim.path).unwrap();
    text.push_str(&format!(
        "[environments.slow]\nkind = \"local\"\nstartup_timeout = \"60s\"\n\
         [environments.slow.workloads.mongodb]\ncommand = [\"sleep\", \"57.25\"]\nservice_port = {port}\nreadiness = \"tcp\"\n"
    ));
    std::fs::write(&sim.path, text).unwrap();
    let junit = sim.junit();
    let log = sim.scratch.path.join("runner.log");
    let mut cmd = runner(&sim.scratch.path);
    cmd.args(["run", "--env", "slow", "--tag", "smoke", "--junit"])
        .arg(&junit)
        .arg(&fixtures().guest)
        .stdout(Stdio::null());
    let mut child = ChildGuard::spawn("scenario-runner", cmd, Some(&log)).unwrap();
    let sleeping = || {
        std::process::Command::new("pgrep")
            .args(["-f", "sleep 57.25"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    wait_until("the pod to be started", Duration::from_secs(30), sleeping);
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.pid() as i32, libc::SIGINT) };
    let status = child
        .wait_timeout(Duration::from_secs(20))
        .expect("the runner ends start-up at once");
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(status.code(), Some(130), "{output}");
    check_junit(&junit);
    let cases = read_report(&junit);
    assert_eq!(cases.len(), 3, "the smoke scenarios: {cases:#?}");
    for c in &cases {
        assert_eq!(c.outcome, "skipped", "{c:#?}");
        assert!(
            c.message
                .contains("interrupted during environment start-up"),
            "{c:#?}"
        );
    }
    wait_until("the pod to be gone", Duration::from_secs(10), || {
        !sleeping()
    });
}

#[test]
fn the_readme_lists_every_error_kind_as_the_code_says_it() {
    use scenario_runner::report::ErrorKind;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|line| *line != "| `type` | meaning |")
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .collect();
    let expected: Vec<String> = ErrorKind::ALL
        .iter()
        .map(|kind| format!("| `{}` | {} |", kind.as_str(), kind.meaning()))
        .collect();
    assert_eq!(table, expected, "README.md's table of error types");
}
