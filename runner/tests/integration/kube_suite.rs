//! The issue's "done when": the scenario component of `scenarios/`, unchanged, lists and runs
//! with the kubernetes environment against the API double. Behind the double are real
//! processes: SecantusDB (a MongoDB-wire server) as MongoDB's container, behind a Service
//! double that applies endpoints and NetworkPolicies, and the workspace's Focus Server, reached
//! through the runner's own port-forward. The network-fault scenarios go through a real
//! `scenario-runner proxy` the runner's placement re-points MongoDB's Service to.

use crate::kube_support;
use crate::support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::proxy_cmd::ProxyProcess;
use kube_support::store::{DEPLOYMENTS, NETWORKPOLICIES, SERVICES};
use kube_support::{ApiDouble, Timing, backend_role};
use support::{Ran, read_report, run_within, runner};

/// A runner.toml for the double. MongoDB's service has an `address`, the Service double's: the
/// runner probes it as a pod in the cluster would, through the Service, where NetworkPolicies
/// apply (a port-forward would bypass them). The Focus Server has none: the runner port-forwards.
fn runner_toml(kubeconfig: &std::path::Path, mongodb_service: SocketAddr) -> String {
    format!(
        r#"default_environment = "cluster"

[runner]
steady_state_timeout_s = 60

[environments.cluster]
kind = "kubernetes"
namespace = "panda-system"
kubeconfig = "{}"
proxy_image = "scenario-runner:test"

[environments.cluster.workloads]
mongodb = {{ kind = "Deployment", name = "mongodb", selector = "app=mongodb" }}
focus-server = {{ kind = "Deployment", name = "focus-server", selector = "app=focus-server" }}

[environments.cluster.services]
mongodb = {{ workload = "mongodb", port = 27017, protocol = "mongodb", address = "{mongodb_service}" }}
focus-server = {{ workload = "focus-server", port = 5000, protocol = "http" }}
"#,
        kubeconfig.display()
    )
}

async fn run_bounded(mut cmd: Command, bound: Duration) -> Ran {
    tokio::task::spawn_blocking(move || run_within(&mut cmd, bound))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scenario_suite_lists_and_runs_against_the_double() {
    let focus_server_bin = testkit::workspace_bin("focus-server");
    let scenarios = testkit::workspace_root().join("scenarios");
    // Both started from the test's own thread: their parent-death signal follows that thread.
    let mongo = testkit::MongoServer::start();
    let mongo_addr = SocketAddr::from(([127, 0, 0, 1], mongo.port()));

    // Pods come back about as fast as a small image on a warm node.
    let timing = Timing {
        create: Duration::from_millis(500),
        ready: Duration::from_secs(2),
        terminate: Duration::from_secs(1),
    };
    let double = ApiDouble::start_with(timing).await;
    double.set_role(Some(backend_role()));
    // No metrics-server: the memory scenario must skip, not report figures the double made up.
    double.serve_metrics(false);
    double.add_workload(
        DEPLOYMENTS,
        "mongodb",
        &[("app", "mongodb")],
        1,
        Some(mongo_addr),
    );
    let mongodb_service = double.service(DEPLOYMENTS, "mongodb", mongo_addr).await;
    // MongoDB's Service object, which the runner re-points to its fault proxy for a network
    // fault. The proxy's pods stand for a real `scenario-runner proxy` started here, in front
    // of MongoDB as the headless Service would put it: the Service double then sends the
    // Focus Server's MongoDB traffic through it.
    double.add_service("mongodb", &[("app", "mongodb")], 27017, 27017);
    let fault_proxy = ProxyProcess::start(&mongo_addr.to_string()).await;
    double.run_image(
        "scenario-runner:test",
        fault_proxy.control,
        Some(fault_proxy.listen),
    );
    let focus_port = testkit::free_port();
    let focus_addr = SocketAddr::from(([127, 0, 0, 1], focus_port));
    double.add_workload(
        DEPLOYMENTS,
        "focus-server",
        &[("app", "focus-server")],
        1,
        Some(focus_addr),
    );

    let dir = tempfile::tempdir().unwrap();
    let mut focus = Command::new(&focus_server_bin);
    focus.args([
        "--listen",
        &focus_addr.to_string(),
        "--seed-recordings",
        "--mongo-uri",
    ]);
    focus.arg(format!(
        "mongodb://{}/?directConnection=true",
        mongodb_service.addr
    ));
    let focus_log = dir.path().join("focus-server.log");
    let _focus = testkit::ChildGuard::spawn("focus-server", focus, Some(&focus_log)).unwrap();
    double
        .wait_for("both pods ready", Duration::from_secs(30), |d| {
            d.ready_pods("").len() == 2
        })
        .await;

    let kubeconfig = double.write_kubeconfig(dir.path());
    let config = dir.path().join("runner.toml");
    std::fs::write(&config, runner_toml(&kubeconfig, mongodb_service.addr)).unwrap();

    let mut list = runner(dir.path());
    list.arg("list")
        .arg(&scenarios)
        .arg("--config")
        .arg(&config)
        .args(["--format", "json"]);
    let listed = run_bounded(list, Duration::from_secs(600)).await;
    assert_eq!(
        listed.code, 0,
        "list:\n{}\n{}",
        listed.stdout, listed.stderr
    );
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(&listed.stdout).expect("list --format json");
    let names: Vec<&str> = listed.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"mongodb_scale_down_outage_returns_503_no_orchestration"),
        "{names:?}"
    );

    let junit = dir.path().join("junit.xml");
    let mut run = runner(dir.path());
    run.arg("run")
        .arg(&scenarios)
        .arg("--config")
        .arg(&config)
        .args(["--env", "cluster"])
        .arg("--junit")
        .arg(&junit);
    let ran = run_bounded(run, Duration::from_secs(900)).await;
    let context = format!(
        "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- focus-server log (tail) ---\n{}",
        ran.code,
        ran.stdout,
        ran.stderr,
        tail(&std::fs::read_to_string(&focus_log).unwrap_or_default(), 40)
    );
    assert!(
        ran.stderr.contains("Focus Server: http://127.0.0.1:"),
        "the port-forward is announced\n{context}"
    );

    let cases = read_report(&junit);
    assert_eq!(
        cases.len(),
        names.len(),
        "one testcase per listed scenario\n{context}"
    );
    let bad: Vec<String> = cases
        .iter()
        .filter(|c| c.outcome == "failure" || c.outcome == "error")
        .map(|c| format!("{} ({} {}): {}", c.name, c.outcome, c.ty, c.message))
        .collect();
    assert!(
        bad.is_empty(),
        "scenarios that did not pass against the double:\n{}\n{context}",
        bad.join("\n")
    );
    assert_eq!(ran.code, 0, "{context}");
    // The network faults went through the placed proxy, and their scenarios passed.
    for name in [
        "slow_mongodb_does_not_break_sla",
        "bandwidth_limited_mongodb",
    ] {
        let case = support::case(&cases, name);
        assert_eq!(case.outcome, "passed", "{name}: {case:?}\n{context}");
    }
    assert!(
        ran.stderr
            .contains("fault proxy Deployment/scenario-runner-proxy-mongodb placed"),
        "the placement is announced\n{context}"
    );
    let memory = support::case(&cases, "no_memory_growth_during_outage");
    assert_eq!(
        memory.outcome, "skipped",
        "no metrics API, no memory figures: {memory:?}"
    );

    // The run left the cluster as it found it.
    let mongodb = double.get(DEPLOYMENTS, "mongodb").unwrap();
    assert_eq!(mongodb["spec"]["replicas"], 1);
    assert!(
        mongodb["metadata"]["annotations"]
            .get("scenario-runner/original-replicas")
            .is_none()
    );
    assert!(double.list(NETWORKPOLICIES).is_empty());
    let service = double.get(SERVICES, "mongodb").unwrap();
    assert_eq!(
        service["spec"]["selector"],
        serde_json::json!({ "app": "mongodb" })
    );
    assert!(
        double
            .get(DEPLOYMENTS, "scenario-runner-proxy-mongodb")
            .is_none()
    );
    assert!(
        double
            .get(SERVICES, "scenario-runner-direct-mongodb")
            .is_none()
    );
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
