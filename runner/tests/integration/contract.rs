//! Contract 0.2 in the runner, through the real binary and the memory environment: components
//! of another version are refused naming both, the steady-state hypothesis gates each scenario
//! and is checked again after its rollback, rollback actions are sent in reverse with the
//! built-in undos whatever the ending, parameters come from the configuration and the command
//! line, and HTTP goes only to declared HTTP services (here a small axum server, `api`).

use crate::support;

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::*;

/// A local HTTP service for the fixture: `GET /steady` answers 200 until `POST /break`, then
/// 503; `GET /echo` answers 200 `echo`; anything else is recorded and answered 200.
struct Api {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    _thread: std::thread::JoinHandle<()>,
}

impl Api {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let broken = Arc::new(AtomicBool::new(false));
                let app = axum::Router::new().fallback(
                    move |method: axum::http::Method,
                          uri: axum::http::Uri,
                          headers: axum::http::HeaderMap,
                          body: axum::body::Bytes| {
                        let (log, broken) = (log.clone(), broken.clone());
                        async move {
                            let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
                            match (method.as_str(), path) {
                                ("GET", "/steady") if broken.load(Ordering::SeqCst) => {
                                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "broken")
                                }
                                ("GET", "/steady") => (axum::http::StatusCode::OK, "steady"),
                                ("POST", "/break") => {
                                    broken.store(true, Ordering::SeqCst);
                                    (axum::http::StatusCode::OK, "broken now")
                                }
                                ("GET", "/echo?x=1") => (axum::http::StatusCode::OK, "echo"),
                                _ => {
                                    let fixture = headers
                                        .get("x-fixture")
                                        .and_then(|v| v.to_str().ok())
                                        .unwrap_or("-");
                                    log.lock().unwrap().push(format!(
                                        "{method} {path} x-fixture={fixture} body={}",
                                        String::from_utf8_lossy(&body)
                                    ));
                                    (axum::http::StatusCode::OK, "done")
                                }
                            }
                        }
                    },
                );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self {
            port,
            seen,
            _thread: thread,
        }
    }

    /// `[environments.sim]` lines that declare this server as the HTTP service `api`.
    fn declared(&self) -> String {
        format!(
            "http_services = {{ api = \"http://127.0.0.1:{}\" }}",
            self.port
        )
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// Runs `args` on `component` in `sim`; the testcases of its report.
fn run_sim(sim: &SimConfig, component: &std::path::Path, args: &[&str]) -> (Ran, Vec<Case>) {
    let junit = sim.junit();
    let ran = run(runner(&sim.scratch.path)
        .arg("run")
        .args(args)
        .arg("--junit")
        .arg(&junit)
        .arg(component));
    (ran, read_report(&junit))
}

fn property<'a>(case: &'a Case, name: &str) -> Option<&'a str> {
    case.properties
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_component_of_another_contract_version_is_refused_naming_both_versions() {
    let scratch = Scratch::new("contract-version");
    let mut bytes = std::fs::read(&fixtures().guest).unwrap();
    let (from, to) = (b"@0.2.0", b"@0.7.0");
    let package = b"focus:scenario/";
    let mut patched = 0;
    let mut i = 0;
    while let Some(at) = find(&bytes[i..], package) {
        let start = i + at;
        let window = &bytes[start..(start + 48).min(bytes.len())];
        if let Some(v) = find(window, from) {
            bytes[start + v..start + v + from.len()].copy_from_slice(to);
            patched += 1;
        }
        i = start + package.len();
    }
    assert!(patched > 0, "no contract name in the fixture");
    let path = scratch.path.join("future.wasm");
    std::fs::write(&path, &bytes).unwrap();
    let sim = SimConfig::new();
    let ran = run(runner(&sim.scratch.path).args(["list"]).arg(&path));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    for version in [
        "focus:scenario@0.7.0",
        "focus:scenario@0.1.0",
        "focus:scenario@0.2.0",
    ] {
        assert!(ran.stderr.contains(version), "{version}: {}", ran.stderr);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_hypothesis_that_never_holds_keeps_the_scenario_from_running() {
    let sim = SimConfig::new();
    let (ran, cases) = run_sim(&sim, &fixtures().never_steady, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let case = case(&cases, "would_scale_mongodb");
    assert_eq!(
        (case.outcome.as_str(), case.ty.as_str()),
        ("error", "steady-state"),
        "{case:#?}"
    );
    assert!(
        case.message.starts_with("not run:")
            && case.message.contains("recordings are not seeded yet"),
        "{case:#?}"
    );
    assert!(
        sim.operations().is_empty(),
        "the environment was changed: {:?}",
        op_strings(&sim.operations())
    );
}

#[test]
fn a_scenario_that_breaks_the_hypothesis_gets_the_error_after_its_rollback() {
    let api = Api::start();
    let sim = SimConfig::with("", &api.declared());
    let (ran, cases) = run_sim(
        &sim,
        &fixtures().guest,
        &["--scenario", "breaks_the_steady_state"],
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let case = case(&cases, "breaks_the_steady_state");
    assert_eq!(
        (case.outcome.as_str(), case.ty.as_str()),
        ("error", "steady-state"),
        "{case:#?}"
    );
    assert!(
        case.message.contains("after the rollback")
            && case.message.contains("GET /steady on api answered 503"),
        "{case:#?}"
    );
    assert!(
        case.body.contains("The scenario itself passed"),
        "{case:#?}"
    );
}

/// Runs `registers_rollback_actions` ending as `ending` and checks the rollback: the second
/// action, the scale, the first action, in that order, each reported.
fn rolls_back(ending: &str, extra: &[&str]) -> Case {
    let api = Api::start();
    let sim = SimConfig::with("", &api.declared());
    let param = format!("ending={ending}");
    let mut args = vec![
        "--scenario",
        "registers_rollback_actions",
        "--param",
        &param,
    ];
    args.extend_from_slice(extra);
    let (_, cases) = run_sim(&sim, &fixtures().guest, &args);
    let case = case(&cases, "registers_rollback_actions").clone();
    assert_eq!(
        api.seen(),
        [
            format!("POST /job/{ending}-2?stop=1 x-fixture={ending} body=stop"),
            format!("DELETE /job/{ending}-1 x-fixture=- body="),
        ],
        "{case:#?}"
    );
    assert_eq!(
        op_strings(&sim.operations()),
        ["scale mongodb 0", "scale mongodb 1"]
    );
    for line in [
        format!("undo 1/3: send POST /job/{ending}-2?stop=1 on api: ok, answered 200"),
        "undo 2/3: scale mongodb back to 1 replica: ok".to_owned(),
        format!("undo 3/3: send DELETE /job/{ending}-1 on api: ok, answered 200"),
    ] {
        assert!(case.system_out.contains(&line), "{line}\n{case:#?}");
    }
    assert_eq!(property(&case, "param.ending"), Some(ending), "{case:#?}");
    case
}

#[test]
fn rollback_actions_run_after_a_pass_a_failure_a_panic_and_a_timeout() {
    assert_eq!(rolls_back("pass", &[]).outcome, "passed");
    assert_eq!(rolls_back("fail", &[]).outcome, "failure");
    let panicked = rolls_back("panic", &[]);
    assert_eq!(
        (panicked.outcome.as_str(), panicked.ty.as_str()),
        ("error", "panic")
    );
    assert!(
        panicked.message.contains("panicking after registering"),
        "{panicked:#?}"
    );
    let timed_out = rolls_back("timeout", &["--timeout", "1s"]);
    assert_eq!(timed_out.ty, "timeout", "{timed_out:#?}");
}

#[test]
fn rollback_actions_run_after_sigint() {
    let api = Api::start();
    let sim = SimConfig::with("", &api.declared());
    let junit = sim.junit();
    let log = sim.scratch.path.join("runner.log");
    let mut cmd = runner(&sim.scratch.path);
    cmd.args([
        "run",
        "--scenario",
        "registers_rollback_actions",
        "--param",
        "ending=signal",
    ])
    .arg("--junit")
    .arg(&junit)
    .arg(&fixtures().guest)
    .stdout(Stdio::null());
    let mut child = ChildGuard::spawn("scenario-runner", cmd, Some(&log)).unwrap();
    wait_until(
        "the scenario to scale mongodb",
        Duration::from_secs(60),
        || op_strings(&sim.operations()).contains(&"scale mongodb 0".to_owned()),
    );
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.pid() as i32, libc::SIGINT) };
    let status = child
        .wait_timeout(Duration::from_secs(30))
        .expect("the runner exits after the rollback");
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(status.code(), Some(130), "{output}");
    assert_eq!(
        api.seen(),
        [
            "POST /job/signal-2?stop=1 x-fixture=signal body=stop",
            "DELETE /job/signal-1 x-fixture=- body="
        ],
        "{output}"
    );
    assert_restored(&sim.operations());
    let cases = read_report(&junit);
    assert_eq!(case(&cases, "registers_rollback_actions").ty, "interrupted");
}

#[test]
fn params_come_from_the_configuration_the_environment_and_the_command_line() {
    let common = "[params]\nsla_s = \"0.5\"\nregion = \"eu\"";
    // [params] alone: 0.5 s, under the fixture's 1 s minimum, fails naming the limit.
    let sim = SimConfig::with(common, "");
    let (_, cases) = run_sim(&sim, &fixtures().guest, &["--scenario", "reads_params"]);
    let case = case(&cases, "reads_params");
    assert_eq!(case.outcome, "failure", "{case:#?}");
    assert!(case.message.contains("over the 0.5 s limit"), "{case:#?}");
    assert_eq!(property(case, "param.sla_s"), Some("0.5"));
    assert_eq!(property(case, "param.not_set"), Some("(not set)"));

    // The environment's own params override [params].
    let sim = SimConfig::with(common, "[environments.sim.params]\nsla_s = \"2\"");
    let (ran, cases) = run_sim(&sim, &fixtures().guest, &["--scenario", "reads_params"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(property(case_of(&cases), "param.sla_s"), Some("2"));

    // --param overrides both.
    let (_, cases) = run_sim(
        &sim,
        &fixtures().guest,
        &["--scenario", "reads_params", "--param", "sla_s=0.000001"],
    );
    let case = case_of(&cases);
    assert!(
        case.message.contains("over the 0.000001 s limit"),
        "{case:#?}"
    );
    assert_eq!(property(case, "param.sla_s"), Some("0.000001"));
}

fn case_of(cases: &[Case]) -> &Case {
    case(cases, "reads_params")
}

#[test]
fn http_goes_only_to_declared_http_services() {
    let api = Api::start();
    let sim = SimConfig::with("", &api.declared());
    let (_, cases) = run_sim(
        &sim,
        &fixtures().guest,
        &["--tag", "v0_2", "--tag", "security"],
    );
    let undeclared = case(&cases, "sends_to_an_undeclared_service");
    assert_eq!(
        (undeclared.outcome.as_str(), undeclared.ty.as_str()),
        ("error", "host-error"),
        "{undeclared:#?}"
    );
    assert!(
        undeclared.message.starts_with("not-permitted:")
            && undeclared.message.contains("`payments-api`"),
        "{undeclared:#?}"
    );
    let refused = case(&cases, "is_refused_outside_the_allow_list");
    assert_eq!(refused.outcome, "passed", "{refused:#?}");
    let described = case(&cases, "describes_the_run");
    assert_eq!(described.outcome, "passed", "{described:#?}");
    assert_eq!(property(described, "echo_status"), Some("200"));
    assert_eq!(property(described, "echo_body"), Some("echo"));
    assert!(
        property(described, "run_id").is_some_and(|id| id.len() > 10),
        "{described:#?}"
    );
    assert_eq!(
        property(described, "services"),
        Some("focus-server,mongodb,api")
    );
}
