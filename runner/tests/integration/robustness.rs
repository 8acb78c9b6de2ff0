//! No input can panic, wedge or exhaust the runner (issue 12): hostile guests (huge strings,
//! CR/LF, stack overflow, exit, 50 MB of stdout) give a small, truthful report; a closed stdout
//! or stderr never panics it; a run whose components cannot load starts no environment; absurd
//! durations are clear errors. The hostile guest is `fixtures/hostile`, built with the others.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, Ran, SimConfig, case, check_junit, read_report, run, runner};

/// `hostile.wasm`, built beside the other fixtures.
fn hostile() -> PathBuf {
    support::fixtures().guest.with_file_name("hostile.wasm")
}

/// Runs `scenario` of the hostile guest and returns its report case.
fn hostile_case(scenario: &str) -> (Ran, support::Case, u64) {
    let config = SimConfig::new();
    let mut cmd = runner(&config.scratch.path);
    cmd.arg("run")
        .arg(hostile())
        .args(["--scenario", scenario, "--config"])
        .arg(&config.path)
        .arg("--junit")
        .arg(config.junit());
    let started = Instant::now();
    let ran = run(&mut cmd);
    let size = std::fs::metadata(config.junit())
        .map(|m| m.len())
        .unwrap_or(0);
    eprintln!(
        "{scenario}: exit {} in {:.2} s, JUnit {size} bytes",
        ran.code,
        started.elapsed().as_secs_f64()
    );
    check_junit(&config.junit());
    let cases = read_report(&config.junit());
    (ran, case(&cases, scenario).clone(), size)
}

#[test]
fn forty_annotations_of_ten_mib_give_a_small_report() {
    let (ran, case, size) = hostile_case("annotates_huge");
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(size < 1 << 20, "the JUnit file is {size} bytes");
    let (_, value) = case
        .properties
        .iter()
        .find(|(key, _)| key == "huge_0")
        .expect("the first annotation is a property");
    assert!(value.contains("bytes cut …]"), "{value:.200}");
}

#[test]
fn huge_failure_and_panic_messages_are_cut_with_a_marker() {
    for scenario in ["fails_huge", "panics_huge"] {
        let (ran, case, size) = hostile_case(scenario);
        assert_eq!(ran.code, 1, "{}", ran.stderr);
        assert!(size < 1 << 20, "{scenario}: the JUnit file is {size} bytes");
        assert!(
            ran.stderr.len() < 64 << 10,
            "{scenario}: {} bytes on stderr",
            ran.stderr.len()
        );
        assert!(
            case.body.contains("bytes cut …]"),
            "{scenario}: {:.300}",
            case.body
        );
    }
}

#[test]
fn crlf_from_a_guest_cannot_forge_log_lines() {
    let (ran, case, _) = hostile_case("logs_crlf");
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        case.system_out
            .contains("before\\r\\n[   0.000 s] HOST forged line"),
        "{}",
        case.system_out
    );
    assert!(
        !case
            .system_out
            .lines()
            .any(|l| l.starts_with("[   0.000 s] HOST forged")),
        "{}",
        case.system_out
    );
}

#[test]
fn fifty_megabytes_of_stdout_report_the_real_number_cut() {
    let (ran, case, size) = hostile_case("prints_50mb");
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(size < 1 << 20, "the JUnit file is {size} bytes");
    let total: u64 = 6 + (50 << 20) + 6;
    assert!(
        case.system_out
            .contains(&format!("--- guest stdout ({total} bytes) ---")),
        "{:.300}",
        case.system_out
    );
    let shown: u64 = 15 << 10;
    let marker = format!("[… {} bytes cut …]", total - shown);
    assert!(case.system_out.contains(&marker), "no {marker}");
    assert_eq!(case.system_out.matches("bytes cut").count(), 1);
}

#[test]
fn stack_overflow_and_exit_are_named() {
    let (ran, case, _) = hostile_case("overflows_stack");
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(case.message.contains("stack overflow"), "{}", case.message);
    let (ran, case, _) = hostile_case("exits_zero");
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        case.message.contains("the scenario called exit(0)"),
        "{}",
        case.message
    );
}

/// Starts the runner with one of its outputs read by nobody: the pipe's reader is closed
/// before the runner writes a byte, as `| head -1` does once it has its line.
fn run_with_closed(output: &str, args: &[&str], config: &SimConfig) -> (i32, String) {
    let mut cmd: Command = runner(&config.scratch.path);
    cmd.args(args)
        .arg("--config")
        .arg(&config.path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Taking the pipe and dropping it in `map` closes its reading end at once.
    let (_closed, open) = if output == "stdout" {
        (
            child.stdout.take().map(|_| ()),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        )
    } else {
        (
            child.stderr.take().map(|_| ()),
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        )
    };
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(open.unwrap()).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the runner did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code().unwrap_or(-1), reader.join().unwrap())
}

#[test]
fn a_closed_stdout_or_stderr_never_panics_a_run() {
    for (closed, scenario, earned) in [
        ("stdout", "passes_chatty", 0),
        ("stderr", "passes_chatty", 0),
        ("stdout", "fails_huge", 1),
        ("stderr", "fails_huge", 1),
    ] {
        let config = SimConfig::new();
        let junit = config.junit();
        let hostile = hostile();
        let args = [
            "run",
            hostile.to_str().unwrap(),
            "--scenario",
            scenario,
            "--junit",
            junit.to_str().unwrap(),
        ];
        let (code, other) = run_with_closed(closed, &args, &config);
        assert_eq!(
            code, earned,
            "{closed} closed, {scenario}: exit {code}\n{other}"
        );
        assert!(!other.contains("panicked"), "{other}");
        check_junit(&junit);
        assert_eq!(
            read_report(&junit).len(),
            1,
            "{closed} closed: the report is written"
        );
        support::assert_restored(&config.operations());
    }
}

#[test]
fn list_into_a_closed_pipe_exits_cleanly() {
    let config = SimConfig::new();
    let hostile = hostile();
    let (code, stderr) = run_with_closed("stdout", &["list", hostile.to_str().unwrap()], &config);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A local environment whose only workload leaves a file behind when it starts.
fn local_config(dir: &Path) -> (PathBuf, PathBuf) {
    let marker = dir.join("STARTED");
    let config = dir.join("runner.toml");
    let port = testkit::free_port();
    std::fs::write(
        &config,
        format!(
            "default_environment = \"local\"\n\
             [environments.local]\nkind = \"local\"\nstartup_timeout = \"5s\"\n\
             [environments.local.workloads.focus-server]\n\
             command = [\"sh\", \"-c\", \"touch {} && exec sleep 30\"]\n\
             service_port = {port}\nreadiness = \"tcp\"\n",
            marker.display()
        ),
    )
    .unwrap();
    (config, marker)
}

#[test]
fn a_run_where_no_component_loads_starts_no_environment() {
    let scratch = support::Scratch::new("runner-no-env");
    let (config, marker) = local_config(&scratch.path);
    let broken = scratch.path.join("broken.wasm");
    std::fs::write(&broken, b"\0asm\x0d\0\x01\0 and then garbage").unwrap();
    let junit = scratch.path.join("junit.xml");
    let ran = run(runner(&scratch.path)
        .arg("run")
        .arg(&broken)
        .arg("--config")
        .arg(&config)
        .arg("--junit")
        .arg(&junit));
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        !marker.exists(),
        "the environment was started:\n{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("was not started"), "{}", ran.stderr);
    check_junit(&junit);
    let cases = read_report(&junit);
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].ty, "load");
}

#[test]
fn absurd_durations_are_clear_errors_not_panics() {
    let config = SimConfig::new();
    for timeout in ["1e30", "1e19", "-1", "nan"] {
        let ran = run(runner(&config.scratch.path)
            .args(["run", "x.wasm", &format!("--timeout={timeout}"), "--config"])
            .arg(&config.path));
        assert_eq!(ran.code, 2, "--timeout {timeout}: {}", ran.stderr);
        assert!(ran.stderr.contains("--timeout"), "{}", ran.stderr);
        assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
    }
    for line in [
        "default_timeout_s = -1",
        "default_timeout_s = nan",
        "steady_state_timeout_s = 1e300",
    ] {
        let bad = SimConfig::with(line, "");
        let text = std::fs::read_to_string(&bad.path).unwrap();
        // `with` appends after the defaults: keep only the last of a repeated key.
        let key = line.split(' ').next().unwrap();
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} = ")) || *l == line)
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&bad.path, text).unwrap();
        let ran = run(runner(&bad.scratch.path)
            .args(["run", "x.wasm", "--config"])
            .arg(&bad.path));
        assert_eq!(ran.code, 2, "{line}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(&format!("runner.{key}")),
            "{line}: {}",
            ran.stderr
        );
        assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_refuses_a_corrupt_original_replicas_annotation() {
    use crate::kube_support::fixture::Cluster;
    use crate::kube_support::runner_toml;
    use crate::kube_support::store::DEPLOYMENTS;

    let cluster = Cluster::start().await;
    let (double, dir) = (&cluster.double, &cluster.dir);
    double.patch(DEPLOYMENTS, "mongodb", serde_json::json!({
        "metadata": { "annotations": { "scenario-runner/original-replicas": "two", "scenario-runner/run-id": "20261124-000000-dead" } },
        "spec": { "replicas": 0 }
    }));
    let kubeconfig = double.write_kubeconfig(dir.path());
    let config = dir.path().join("runner.toml");
    std::fs::write(&config, runner_toml(&kubeconfig, "")).unwrap();
    let mut cmd = runner(dir.path());
    cmd.args(["cleanup", "--env", "cluster", "--config"])
        .arg(&config);
    let ran = tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .unwrap();
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains(
            "Deployment/mongodb in namespace panda-system carries scenario-runner/original-replicas=\"two\", which is not a replica count"
        ),
        "{}",
        ran.stderr
    );
    let object = double.get(DEPLOYMENTS, "mongodb").unwrap();
    assert_eq!(object["spec"]["replicas"].as_i64(), Some(0), "not guessed");
    assert_eq!(
        object["metadata"]["annotations"]["scenario-runner/original-replicas"].as_str(),
        Some("two")
    );
}
