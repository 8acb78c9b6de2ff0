//! The runner tests' shared harness, on top of `testkit`: the fixture guest components (built
//! once with wit-bindgen against `wit/`, cached by cargo, and the committed 0.1 component), broken component files, memory-environment
//! configurations, the memory environment's operation journal, the real binary, and the JUnit
//! checks every test runs on every report it writes.

#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCaseStatus};
pub use testkit::{ChildGuard, Scratch, wait_until, workspace_root};

/// The fixture components, built for wasm32-wasip2.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// `runner_fixture.wasm`: a scenario per way of ending (see `fixtures/guest/src/lib.rs`).
    pub guest: PathBuf,
    /// `other_world.wasm`: a component of another world.
    pub other_world: PathBuf,
    /// `never_steady.wasm`: a 0.2 component whose steady-state hypothesis never holds.
    pub never_steady: PathBuf,
}

/// The committed contract 0.1.0 component: today's `scenarios/` as built before contract 0.2
/// (see `fixtures/v0.1/README.md`).
pub fn v0_1_fixture() -> PathBuf {
    fixture_workspace()
        .join("v0.1")
        .join("focus_outage_scenarios.wasm")
}

/// The fixture workspace folder.
pub fn fixture_workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// The target folder guest builds share: `<workspace>/target`, as the runner itself uses.
pub fn guest_target_root() -> PathBuf {
    workspace_root().join("target")
}

/// Builds the fixtures once per test binary (cargo makes later builds no-ops) with
/// `cargo build --release --target wasm32-wasip2 --target-dir target/scenario-wasm`.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let target_dir = guest_target_root().join("scenario-wasm");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .current_dir(fixture_workspace())
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--target-dir",
            ])
            .arg(&target_dir)
            .output()
            .expect("run cargo to build the fixture guests");
        assert!(
            output.status.success(),
            "building the fixture guests failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let dir = target_dir.join("wasm32-wasip2").join("release");
        let fixtures = Fixtures {
            guest: dir.join("runner_fixture.wasm"),
            other_world: dir.join("other_world.wasm"),
            never_steady: dir.join("never_steady.wasm"),
        };
        assert!(
            fixtures.guest.is_file()
                && fixtures.other_world.is_file()
                && fixtures.never_steady.is_file(),
            "fixtures missing in {}",
            dir.display()
        );
        fixtures
    })
}

/// Broken component files written into a folder.
#[derive(Debug, Clone)]
pub struct BrokenFiles {
    /// The 8 bytes of an empty core module.
    pub core_module: PathBuf,
    /// 4 KiB of random bytes.
    pub random: PathBuf,
    /// The first half of the fixture component.
    pub truncated: PathBuf,
}

/// Writes the broken files into `dir`.
pub fn broken_files(dir: &Path) -> BrokenFiles {
    let core_module = dir.join("core_module.wasm");
    std::fs::write(&core_module, b"\0asm\x01\0\0\0").unwrap();
    let random = dir.join("random_bytes.wasm");
    std::fs::write(
        &random,
        (0..4096).map(|_| rand::random::<u8>()).collect::<Vec<u8>>(),
    )
    .unwrap();
    let truncated = dir.join("truncated.wasm");
    let bytes = std::fs::read(&fixtures().guest).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    BrokenFiles {
        core_module,
        random,
        truncated,
    }
}

/// A `runner.toml` for a memory environment called `sim` with `mongodb` and `focus-server`,
/// its operation journal in `journal.jsonl` beside it. `extra` is appended as it is.
pub struct SimConfig {
    /// The scratch folder that holds it.
    pub scratch: Scratch,
    /// The `runner.toml`.
    pub path: PathBuf,
    /// The memory environment's journal file.
    pub journal: PathBuf,
}

impl SimConfig {
    /// The default layout: 64 MiB memory cap, 10 s default timeout, 5 s steady-state wait.
    pub fn new() -> Self {
        Self::with("", "")
    }

    /// With `runner` lines added to `[runner]` and `env` lines to `[environments.sim]`.
    pub fn with(runner: &str, env: &str) -> Self {
        let scratch = Scratch::new("runner-sim");
        let path = scratch.path.join("runner.toml");
        let journal = scratch.path.join("journal.jsonl");
        let text = format!(
            "default_environment = \"sim\"\n\
             [runner]\nmemory_limit_mib = 64\ndefault_timeout_s = 10\nsteady_state_timeout_s = 5\n{runner}\n\
             [environments.sim]\nkind = \"memory\"\njournal_file = \"journal.jsonl\"\n{env}\n\
             [environments.sim.workloads.mongodb]\nreplicas = 1\n\
             [environments.sim.workloads.focus-server]\nreplicas = 1\n"
        );
        std::fs::write(&path, text).unwrap();
        Self {
            scratch,
            path,
            journal,
        }
    }

    /// The operations the memory environment applied, in order.
    pub fn operations(&self) -> Vec<serde_json::Value> {
        read_operations(&self.journal)
    }

    /// Where the report of a run goes.
    pub fn junit(&self) -> PathBuf {
        self.scratch.path.join("junit.xml")
    }
}

/// The JSON lines of a memory-environment journal.
pub fn read_operations(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a journal line is JSON"))
        .collect()
}

/// Operations as short strings: `scale mongodb 0`, `block focus-server refuse`, `unblock x`,
/// `delete-pod mongodb`, `wait-ready mongodb`.
pub fn op_strings(ops: &[serde_json::Value]) -> Vec<String> {
    ops.iter()
        .map(|op| {
            let s = |k: &str| op[k].as_str().unwrap_or_default().to_owned();
            match s("op").as_str() {
                "scale" => format!("scale {} {}", s("workload"), op["replicas"]),
                "block" => format!("block {} {}", s("workload"), s("mode")),
                other => format!("{other} {}", s("workload")),
            }
        })
        .collect()
}

/// Replays operations from the declared state (every workload at 1, unblocked) and asserts
/// that they leave it as it began.
pub fn assert_restored(ops: &[serde_json::Value]) {
    let mut replicas = std::collections::BTreeMap::new();
    let mut blocked = std::collections::BTreeSet::new();
    for op in ops {
        let workload = op["workload"].as_str().unwrap().to_owned();
        match op["op"].as_str().unwrap() {
            "scale" => {
                replicas.insert(workload, op["replicas"].as_u64().unwrap());
            }
            "block" => {
                blocked.insert(workload);
            }
            "unblock" => {
                blocked.remove(&workload);
            }
            _ => {}
        }
    }
    assert!(
        replicas.values().all(|&r| r == 1),
        "left scaled: {replicas:?}; operations: {:?}",
        op_strings(ops)
    );
    assert!(
        blocked.is_empty(),
        "left blocked: {blocked:?}; operations: {:?}",
        op_strings(ops)
    );
}

/// The `check-junit` program beside the workspace: `<workspace>/../shared/junit/check-junit`.
pub fn check_junit_program() -> PathBuf {
    workspace_root()
        .join("..")
        .join("shared")
        .join("junit")
        .join("check-junit")
}

/// Runs `check-junit` on `report` and asserts that it passes.
pub fn check_junit(report: &Path) {
    let output = Command::new(check_junit_program())
        .arg(report)
        .output()
        .expect("run check-junit");
    assert!(
        output.status.success(),
        "check-junit rejected {}:\n{}{}\n--- the report ---\n{}",
        report.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(report).unwrap_or_default()
    );
}

/// One testcase of a report, flattened for assertions.
#[derive(Debug, Clone)]
pub struct Case {
    /// The suite (component) name.
    pub suite: String,
    /// The testcase name.
    pub name: String,
    /// The classname.
    pub classname: String,
    /// `passed`, `failure`, `error` or `skipped`.
    pub outcome: String,
    /// The `type` attribute.
    pub ty: String,
    /// The `message` attribute.
    pub message: String,
    /// The element body.
    pub body: String,
    /// `<system-out>`.
    pub system_out: String,
    /// `<system-err>`.
    pub system_err: String,
    /// The testcase's properties.
    pub properties: Vec<(String, String)>,
}

/// Checks the report with `check-junit`, then parses it.
pub fn read_report(path: &Path) -> Vec<Case> {
    check_junit(path);
    let text = std::fs::read_to_string(path).unwrap();
    let report = Report::deserialize_from_str(&text).expect("parse the JUnit report");
    let mut cases = Vec::new();
    for suite in &report.test_suites {
        for case in &suite.test_cases {
            let s = |x: &Option<quick_junit::XmlString>| {
                x.as_ref()
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default()
            };
            let (outcome, ty, message, body) = match &case.status {
                TestCaseStatus::Success { .. } => {
                    ("passed", String::new(), String::new(), String::new())
                }
                TestCaseStatus::NonSuccess {
                    kind,
                    message,
                    ty,
                    description,
                    ..
                } => {
                    let outcome = if *kind == NonSuccessKind::Failure {
                        "failure"
                    } else {
                        "error"
                    };
                    (outcome, s(ty), s(message), s(description))
                }
                TestCaseStatus::Skipped {
                    message,
                    ty,
                    description,
                } => ("skipped", s(ty), s(message), s(description)),
            };
            cases.push(Case {
                suite: suite.name.as_str().to_owned(),
                name: case.name.as_str().to_owned(),
                classname: s(&case.classname),
                outcome: outcome.to_owned(),
                ty,
                message,
                body,
                system_out: s(&case.system_out),
                system_err: s(&case.system_err),
                properties: case
                    .properties
                    .iter()
                    .map(|p| (p.name.as_str().to_owned(), p.value.as_str().to_owned()))
                    .collect(),
            });
        }
    }
    cases
}

/// The case `name` of `cases`, checked: its outcome and `type`, each of `needles` in its
/// message or body, and a one-line message.
pub fn expect_case<'a>(
    cases: &'a [Case],
    name: &str,
    outcome: &str,
    ty: &str,
    needles: &[&str],
) -> &'a Case {
    let c = case(cases, name);
    assert_eq!(
        (c.outcome.as_str(), c.ty.as_str()),
        (outcome, ty),
        "{name}: {c:#?}"
    );
    for needle in needles {
        assert!(
            c.message.contains(needle) || c.body.contains(needle),
            "{name}: no `{needle}` in {c:#?}"
        );
    }
    assert!(
        !c.message.contains('\n'),
        "{name}: the message is not one line"
    );
    c
}

/// The case called `name` (in any suite); panics with the names there are.
pub fn case<'a>(cases: &'a [Case], name: &str) -> &'a Case {
    cases
        .iter()
        .find(|c| c.name == name || format!("{}::{}", c.suite, c.name) == name)
        .unwrap_or_else(|| {
            panic!(
                "no testcase {name}; there are: {:?}",
                cases
                    .iter()
                    .map(|c| format!("{}::{}", c.suite, c.name))
                    .collect::<Vec<_>>()
            )
        })
}

/// The `scenario-runner` binary of this build.
pub fn runner_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scenario-runner"))
}

/// A `scenario-runner` command run from `dir`, with a clean `NO_COLOR` output.
pub fn runner(dir: &Path) -> Command {
    let mut cmd = Command::new(runner_bin());
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SCENARIO_RUNNER_CACHE");
    cmd
}

/// What a finished command said.
pub struct Ran {
    /// The exit code.
    pub code: i32,
    /// Stdout.
    pub stdout: String,
    /// Stderr.
    pub stderr: String,
}

/// Runs `cmd` to the end, with a generous bound so that a hang fails the test.
pub fn run(cmd: &mut Command) -> Ran {
    run_within(cmd, Duration::from_secs(300))
}

/// Runs `cmd` to the end; the test fails if it takes longer than `bound`.
pub fn run_within(cmd: &mut Command, bound: Duration) -> Ran {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = rx
        .recv_timeout(bound)
        .unwrap_or_else(|_| panic!("the runner did not finish within {bound:?}"))
        .unwrap();
    Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
