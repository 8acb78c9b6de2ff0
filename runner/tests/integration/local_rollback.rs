//! Rollback on interrupt, through the real binary against the local environment: `run` a
//! scenario of `scenarios/`, interrupt it (SIGINT) in the middle of its fault, as `env status`
//! shows it, and check that the runner undid the fault and saw the steady state again before it
//! ended (the JUnit testcase says "steady state: back after …"), with exit code 130.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testkit::{ChildGuard, Scratch, free_port, wait_until, workspace_root};

const RUNNER: &str = env!("CARGO_BIN_EXE_scenario-runner");

struct Run {
    scratch: Scratch,
}

impl Run {
    fn new() -> Self {
        // `{exe:focus-server}` finds it next to the runner; say how to build it when missing.
        let _ = testkit::workspace_bin("focus-server");
        let scratch = Scratch::new("local-rollback");
        std::os::unix::fs::symlink(workspace_root().join(".venv"), scratch.path.join(".venv"))
            .unwrap();
        let config = format!(
            r#"[environments.local]
kind = "local"

[environments.local.workloads.mongodb]
builtin = "mongodb"
service_port = {}
readiness = "mongodb ping"
recreate_delay = "5s"
stop_grace = "5s"

[environments.local.workloads.focus-server]
command = "{{exe:focus-server}} --listen 127.0.0.1:{{port}} --mongo-uri mongodb://{{service:mongodb}}/?directConnection=true --seed-recordings"
service_port = {}
readiness = "http GET /health"
stop_grace = "5s"
"#,
            free_port(),
            free_port()
        );
        std::fs::write(scratch.path.join("runner.toml"), config).unwrap();
        Self { scratch }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.scratch.path.join(name)
    }

    /// The running environment's status, if one answers.
    fn status(&self) -> Option<Value> {
        let out = Command::new(RUNNER)
            .args(["env", "status", "--json", "--config"])
            .arg(self.path("runner.toml"))
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten()
    }

    /// Runs `scenario`, SIGINTs the runner once `mid_fault` holds for mongodb's status, and
    /// returns the JUnit report.
    fn interrupt(&self, scenario: &str, what: &str, mid_fault: impl Fn(&Value) -> bool) -> String {
        let mut command = Command::new(RUNNER);
        command
            .arg("run")
            .arg(workspace_root().join("scenarios"))
            .args(["--scenario", scenario, "--config"])
            .arg(self.path("runner.toml"))
            .arg("--junit")
            .arg(self.path("junit.xml"));
        let log = self.path("run.log");
        let mut runner = ChildGuard::spawn("run", command, Some(&log)).unwrap();
        // The first run may build the scenarios for wasm32-wasip2.
        wait_until(what, Duration::from_secs(600), || {
            assert!(!runner.has_exited(), "the run ended first:\n{}", text(&log));
            self.status().is_some_and(|s| {
                let mongodb = s["workloads"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|w| w["name"] == "mongodb");
                mid_fault(mongodb.unwrap())
            })
        });
        runner.signal(libc::SIGINT);
        let exit = runner
            .wait_timeout(Duration::from_secs(120))
            .expect("the run ends after its rollback");
        let junit = text(&self.path("junit.xml"));
        println!(
            "{scenario}: {exit}\n{}",
            text(&log)
                .lines()
                .filter(|l| l.contains("undo"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert_eq!(exit.code(), Some(130), "{}", text(&log));
        assert!(
            junit.contains("steady state: back after"),
            "{junit}\n{}",
            text(&log)
        );
        assert!(!junit.contains("NOT restored"), "{junit}");
        junit
    }
}

fn text(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn interrupted_while_mongodb_is_scaled_to_zero() {
    let junit = Run::new().interrupt(
        "mongodb_scale_down_outage_returns_503_no_orchestration",
        "mongodb scaled to 0",
        |m| m["desired"] == 0,
    );
    assert!(junit.contains("scale mongodb back to 1"), "{junit}");
}

#[test]
fn interrupted_while_mongodb_is_blackholed() {
    let junit = Run::new().interrupt(
        "mongodb_network_block_returns_503",
        "mongodb blackholed",
        |m| m["block"] == "blackhole",
    );
    assert!(junit.contains("unblock"), "{junit}");
}

#[test]
fn interrupted_while_a_deleted_mongodb_pod_is_recreated() {
    Run::new().interrupt(
        "mongodb_pod_restart_resilience",
        "a mongodb pod being recreated",
        |m| {
            m["pods"].as_array().unwrap().iter().any(|p| {
                p["phase"]
                    .as_str()
                    .unwrap()
                    .starts_with("Pending (starting")
            })
        },
    );
}
