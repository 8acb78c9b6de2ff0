//! The local environment's lifecycle through the real binary: `env up` and `env status`, no
//! process outliving the runner however it ends (SIGINT, SIGTERM, SIGKILL), and the clear
//! errors with exit code 2 (no MongoDB-wire server, a port in use, a crashing workload).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use testkit::{ChildGuard, Scratch, free_port, wait_until, workspace_root};

use crate::local_support;

const RUNNER: &str = env!("CARGO_BIN_EXE_scenario-runner");

/// A scratch folder with a runner.toml of a `mongodb` and a `web` workload whose pods start a
/// child of their own (`sleep`), the kind that PR_SET_PDEATHSIG alone does not reach.
struct Setup {
    scratch: Scratch,
    mongodb_port: u16,
    web_port: u16,
}

impl Setup {
    fn new(with_venv: bool) -> Self {
        let scratch = Scratch::new("local-lifecycle");
        let venv = workspace_root().join(".venv");
        if with_venv && venv.is_dir() {
            std::os::unix::fs::symlink(&venv, scratch.path.join(".venv")).unwrap();
        }
        let (mongodb_port, web_port) = (free_port(), free_port());
        let config = format!(
            r#"default_environment = "local"
[environments.local]
kind = "local"
focus_workload = "web"
startup_timeout = "30s"

[environments.local.workloads.mongodb]
builtin = "mongodb"
service_port = {mongodb_port}
readiness = "mongodb ping"
stop_grace = "5s"

[environments.local.workloads.web]
command = ["/bin/sh", "-c", "sleep 600 & exec python3 -m http.server {{port}} --bind 127.0.0.1"]
service_port = {web_port}
readiness = "http GET /"
stop_grace = "2s"
"#
        );
        std::fs::write(scratch.path.join("runner.toml"), config).unwrap();
        Self {
            scratch,
            mongodb_port,
            web_port,
        }
    }

    fn config(&self) -> PathBuf {
        self.scratch.path.join("runner.toml")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(RUNNER);
        command
            .args(args)
            .arg("--config")
            .arg(self.config())
            .current_dir(&self.scratch.path);
        command
    }

    /// Starts `env up` and waits until it has printed its addresses.
    fn env_up(&self) -> (ChildGuard, PathBuf) {
        let log = self.scratch.path.join("env-up.log");
        let child = ChildGuard::spawn("env up", self.command(&["env", "up"]), Some(&log)).unwrap();
        wait_until(
            "env up to print its addresses",
            Duration::from_secs(60),
            || {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                assert!(!text.contains("error:"), "env up failed:\n{text}");
                text.contains("Ctrl-C stops it")
            },
        );
        (child, log)
    }

    fn status_json(&self) -> serde_json::Value {
        let out = self.command(&["env", "status", "--json"]).output().unwrap();
        assert!(
            out.status.success(),
            "env status: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Every process whose process group is `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields[2].parse() == Ok(pgid) && fields[0] != "Z" {
            members.push(pid);
        }
    }
    members
}

/// The runner's orphan watchdog, if it still runs.
fn watchdog_of(runner: u32) -> Option<u32> {
    let marker = format!("scenario-runner-watchdog\0{runner}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .find_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(&marker)
                .then_some(pid)
        })
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `env up`, then `signal` to the runner: every pod and what the pods started must be gone.
fn no_process_outlives_the_runner(signal: i32) {
    let setup = Setup::new(true);
    let (mut runner, log) = setup.env_up();
    let up = text(&log);
    assert!(
        up.contains(&format!("FOCUS_URL=http://127.0.0.1:{}", setup.web_port)),
        "{up}"
    );
    assert!(
        up.contains(&format!(
            "MONGODB_URI=mongodb://127.0.0.1:{}/?directConnection=true",
            setup.mongodb_port
        )),
        "{up}"
    );

    let status = setup.status_json();
    let pods: Vec<&serde_json::Value> = status["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["pods"].as_array().unwrap())
        .collect();
    assert_eq!(pods.len(), 2, "{status:#}");
    assert!(pods.iter().all(|p| p["ready"] == true), "{status:#}");
    let groups: Vec<u32> = pods
        .iter()
        .map(|p| p["pid"].as_u64().unwrap() as u32)
        .collect();
    let web_group = pods
        .iter()
        .find(|p| p["name"].as_str().unwrap().starts_with("web-"))
        .unwrap()["pid"]
        .as_u64()
        .unwrap();
    wait_until("the web pod's own child", Duration::from_secs(10), || {
        group_members(web_group as u32).len() >= 2
    });
    let before: Vec<u32> = groups.iter().flat_map(|g| group_members(*g)).collect();
    let watchdog = watchdog_of(runner.pid());
    assert!(
        watchdog.is_some(),
        "no watchdog for runner {}",
        runner.pid()
    );

    // SAFETY: a signal to the runner process alone, not its group.
    unsafe {
        libc::kill(runner.pid() as i32, signal);
    }
    let exit = runner
        .wait_timeout(Duration::from_secs(30))
        .expect("the runner ends");
    wait_until(
        "every pod process to be gone",
        Duration::from_secs(10),
        || groups.iter().all(|g| group_members(*g).is_empty()),
    );
    wait_until("the watchdog to be gone", Duration::from_secs(10), || {
        watchdog_of(runner.pid()).is_none()
    });
    println!("signal {signal}: runner {exit}; gone: {before:?}");
    if signal != libc::SIGKILL {
        assert!(exit.success(), "{exit}\n{}", text(&log));
        assert!(text(&log).contains("stopped"), "{}", text(&log));
    }
    let after = setup.command(&["env", "status"]).output().unwrap();
    assert_eq!(after.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&after.stderr).contains("no local environment is running"));
}

#[test]
fn sigint_stops_every_pod() {
    no_process_outlives_the_runner(libc::SIGINT);
}

#[test]
fn sigterm_stops_every_pod() {
    no_process_outlives_the_runner(libc::SIGTERM);
}

#[test]
fn sigkill_leaves_no_orphan() {
    no_process_outlives_the_runner(libc::SIGKILL);
}

#[test]
fn env_status_shows_workloads_pods_and_readiness() {
    let setup = Setup::new(true);
    let (_runner, _log) = setup.env_up();
    let out = setup.command(&["env", "status"]).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        table.contains(&format!("127.0.0.1:{}", setup.mongodb_port)),
        "{table}"
    );
    assert!(
        table.contains("mongodb-") && table.contains("web-") && table.contains("Running"),
        "{table}"
    );
}

fn exit_code_and_stderr(mut command: Command) -> (Option<i32>, String) {
    let out = command.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn without_a_mongodb_server_env_up_says_where_it_looked_and_exits_2() {
    let setup = Setup::new(false);
    let mut command = setup.command(&["env", "up"]);
    command.env("PATH", setup.scratch.path.join("empty-bin"));
    let (code, stderr) = exit_code_and_stderr(command);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no MongoDB-wire server found"), "{stderr}");
    assert!(
        stderr.contains("`mongod` and `secantusd-rs` on PATH"),
        "{stderr}"
    );
    assert!(stderr.contains(".venv/bin/secantusd-py"), "{stderr}");
    assert!(stderr.contains("./scripts/setup"), "{stderr}");
}

#[test]
fn a_service_port_in_use_is_named_with_its_key_and_exits_2() {
    let setup = Setup::new(true);
    let _taken = std::net::TcpListener::bind(("127.0.0.1", setup.mongodb_port)).unwrap();
    let (code, stderr) = exit_code_and_stderr(setup.command(&["env", "up"]));
    assert_eq!(code, Some(2), "{stderr}");
    let expected = format!(
        "port {} (environments.local.workloads.mongodb.service_port) is in use",
        setup.mongodb_port
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn a_workload_that_keeps_crashing_fails_the_start_with_its_log() {
    let setup = Setup::new(true);
    let config = text(&setup.config()).replace(
        "sleep 600 & exec python3 -m http.server {port} --bind 127.0.0.1",
        "echo no such database config >&2; exit 3",
    );
    std::fs::write(setup.config(), config).unwrap();
    let (code, stderr) = exit_code_and_stderr(setup.command(&["env", "up"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("workload web keeps crashing"), "{stderr}");
    assert!(stderr.contains("exit status: 3"), "{stderr}");
    assert!(stderr.contains("no such database config"), "{stderr}");
    // The error path stops what did start: MongoDB's pod, whose data folder is in the scratch.
    let scratch = setup.scratch.path.to_string_lossy().into_owned();
    let left: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains(&scratch)
        })
        .collect();
    assert!(
        left.is_empty(),
        "processes of the failed start are left: {left:?}"
    );
}

const PANIC_CHILD: &str = "LOCAL_LIFECYCLE_PANIC_CHILD";

/// In the child: starts an environment whose `web` pod has a child of its own, prints the pods'
/// process groups, then panics as a bug in the runner would.
fn panicking_runner() {
    let web = format!(
        "[workloads.web]\ncommand = [\"/bin/sh\", \"-c\", \"sleep 600 & exec python3 -m http.server {{port}} --bind 127.0.0.1\"]\n\
         service_port = {}\nreadiness = \"http GET /\"\n",
        free_port()
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let h = local_support::Harness::start(&[local_support::mongodb("5s"), web]).await;
        let _keep = &h;
        let groups: Vec<String> = ["mongodb", "web"]
            .iter()
            .flat_map(|w| pod_pids(w))
            .map(|p| p.to_string())
            .collect();
        println!("POD GROUPS: {}", groups.join(" "));
        panic!("a bug in the runner");
    });
}

/// The process ids of `workload`'s pods, from `/proc`: the children of this process in a
/// group of their own whose command is the workload's.
fn pod_pids(workload: &str) -> Vec<u32> {
    let me = std::process::id().to_string();
    let needle = if workload == "web" {
        "http.server"
    } else {
        "--standalone"
    };
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.split_whitespace().nth(1) == Some(me.as_str()))
                && String::from_utf8_lossy(&cmdline).contains(needle)
        })
        .collect()
}

#[test]
fn a_panic_leaves_no_orphan() {
    if std::env::var_os(PANIC_CHILD).is_some() {
        return panicking_runner();
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "local_lifecycle::a_panic_leaves_no_orphan",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PANIC_CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the child did not panic:\n{stdout}");
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("POD GROUPS: ").map(|(_, g)| g));
    let groups: Vec<u32> = line
        .unwrap_or_else(|| {
            panic!(
                "no pods reported:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(groups.len(), 2, "{stdout}");
    wait_until(
        "every pod process to be gone",
        Duration::from_secs(10),
        || groups.iter().all(|g| group_members(*g).is_empty()),
    );
}

/// The scenarios component, built as `run scenarios/` builds it.
fn scenarios_component() -> PathBuf {
    let target_dir = workspace_root().join("target").join("scenario-wasm");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(workspace_root().join("scenarios").join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "building the scenarios for wasm32-wasip2 failed"
    );
    target_dir.join("wasm32-wasip2/release/focus_outage_scenarios.wasm")
}

#[test]
fn without_a_mongodb_server_run_says_where_it_looked_and_exits_2() {
    let component = scenarios_component();
    let setup = Setup::new(false);
    let mut command = Command::new(RUNNER);
    command
        .arg("run")
        .arg(&component)
        .arg("--config")
        .arg(setup.config())
        .arg("--junit")
        .arg(setup.scratch.path.join("junit.xml"))
        .env("PATH", setup.scratch.path.join("empty-bin"));
    let (code, stderr) = exit_code_and_stderr(command);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no MongoDB-wire server found"), "{stderr}");
    assert!(stderr.contains("./scripts/setup"), "{stderr}");
}
