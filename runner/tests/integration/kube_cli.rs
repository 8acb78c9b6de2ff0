//! The `scenario-runner` binary with the kubernetes environment, against the API double: a run
//! killed with SIGKILL mid-scenario leaves its changes in the cluster; the next `run` refuses to
//! start and names them; `cleanup` restores them and says what it did.

use crate::kube_support;
use crate::support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kube_support::fixture::Cluster;
use kube_support::store::{DEPLOYMENTS, NETWORKPOLICIES};
use kube_support::{ApiDouble, runner_toml};
use serde_json::Value;
use support::{Ran, run, runner};

fn replicas(double: &ApiDouble, name: &str) -> i64 {
    double.get(DEPLOYMENTS, name).unwrap()["spec"]["replicas"]
        .as_i64()
        .unwrap()
}

fn annotation(double: &ApiDouble, name: &str, key: &str) -> Option<String> {
    let object = double.get(DEPLOYMENTS, name).unwrap();
    object["metadata"]["annotations"]
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

async fn run_blocking(mut cmd: Command) -> Ran {
    tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_restores_what_a_sigkilled_runner_left() {
    // The usual cluster, under the backend's least-privilege Role.
    let cluster = Cluster::start().await;
    let (double, dir) = (&cluster.double, &cluster.dir);

    let kubeconfig = double.write_kubeconfig(dir.path());
    let config = dir.path().join("runner.toml");
    std::fs::write(&config, runner_toml(&kubeconfig, "")).unwrap();
    let fixture: PathBuf = tokio::task::spawn_blocking(|| support::fixtures().guest.clone())
        .await
        .unwrap();
    let command = |args: &[&str]| {
        let mut cmd = runner(dir.path());
        cmd.args(args)
            .arg("--config")
            .arg(&config)
            .args(["--env", "cluster"]);
        cmd
    };
    let run_args = |scenario: &str| {
        let mut cmd = command(&["run", fixture.to_str().unwrap(), "--scenario", scenario]);
        cmd.arg("--junit")
            .arg(dir.path().join(format!("{scenario}.xml")));
        cmd
    };

    // A run that scales MongoDB to 0, blocks the Focus Server, and is killed mid-scenario.
    let log = dir.path().join("killed-run.log");
    let killed = testkit::ChildGuard::spawn(
        "scenario-runner",
        run_args("waits_for_a_signal"),
        Some(&log),
    )
    .unwrap();
    let changed =
        |d: &ApiDouble| replicas(d, "mongodb") == 0 && !d.list(NETWORKPOLICIES).is_empty();
    let wait = tokio::time::timeout(
        Duration::from_secs(120),
        double.wait_for("the scenario's changes", Duration::from_secs(120), changed),
    );
    if wait.await.is_err() {
        panic!(
            "the scenario did not change the cluster; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    let mut killed = killed;
    killed.signal(libc::SIGKILL);
    assert!(
        killed.wait_timeout(Duration::from_secs(10)).is_some(),
        "the runner died"
    );
    assert_eq!(
        replicas(double, "mongodb"),
        0,
        "nothing restored the cluster after SIGKILL"
    );
    assert_eq!(
        annotation(double, "mongodb", "scenario-runner/original-replicas").as_deref(),
        Some("1")
    );
    let run_id =
        annotation(double, "mongodb", "scenario-runner/run-id").expect("the run id is recorded");

    // The next run refuses to start, and says what is left and what to do.
    let refused = run_blocking(run_args("passes")).await;
    assert_eq!(
        refused.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        refused.stdout, refused.stderr
    );
    for expected in [
        "an earlier run left changes in namespace panda-system".to_owned(),
        format!("Deployment/mongodb scaled by run {run_id} (original replicas 1)"),
        format!(
            "NetworkPolicy/scenario-runner-block-focus-server blocking focus-server from run {run_id}"
        ),
        "scenario-runner cleanup --env cluster".to_owned(),
    ] {
        assert!(
            refused.stderr.contains(&expected),
            "{expected:?} not in:\n{}",
            refused.stderr
        );
    }
    assert_eq!(
        replicas(double, "mongodb"),
        0,
        "a refused run changes nothing"
    );

    // cleanup restores both and prints what it did.
    let cleaned = run_blocking(command(&["cleanup"])).await;
    assert_eq!(
        cleaned.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        cleaned.stdout, cleaned.stderr
    );
    let lines: Vec<&str> = cleaned.stdout.lines().collect();
    assert!(lines[0].starts_with("cleanup cluster: deleted NetworkPolicy/scenario-runner-block-focus-server in panda-system"), "{}", cleaned.stdout);
    assert!(
        lines[1].starts_with(
            "cleanup cluster: scaled Deployment/mongodb in panda-system from 0 back to 1 replicas"
        ),
        "{}",
        cleaned.stdout
    );
    assert!(
        lines[1].contains(&format!("left by run {run_id}")),
        "{}",
        cleaned.stdout
    );
    assert_eq!(
        lines[2],
        "cleanup cluster: restored 2 change(s) in namespace panda-system"
    );
    assert_eq!(replicas(double, "mongodb"), 1);
    assert_eq!(
        annotation(double, "mongodb", "scenario-runner/original-replicas"),
        None
    );
    assert_eq!(
        annotation(double, "mongodb", "scenario-runner/run-id"),
        None
    );
    assert!(double.list(NETWORKPOLICIES).is_empty());

    let again = run_blocking(command(&["cleanup"])).await;
    assert_eq!(
        again.stdout.trim(),
        "cleanup cluster: nothing left by an earlier run in namespace panda-system"
    );

    // And runs start again.
    double
        .wait_for("mongodb ready again", Duration::from_secs(10), |d| {
            d.ready_pods("mongodb").len() == 1
        })
        .await;
    let ran = run_blocking(run_args("passes")).await;
    assert_eq!(
        ran.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        ran.stdout, ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn force_cleanup_restores_then_runs() {
    // The usual cluster, under the backend's least-privilege Role.
    let cluster = Cluster::start().await;
    let (double, dir) = (&cluster.double, &cluster.dir);
    // What a crashed run leaves: a scaled Deployment with the runner's mark.
    double.patch(DEPLOYMENTS, "mongodb", serde_json::json!({
        "metadata": { "annotations": { "scenario-runner/original-replicas": "1", "scenario-runner/run-id": "20261124-000000-dead" } },
        "spec": { "replicas": 0 }
    }));

    let kubeconfig = double.write_kubeconfig(dir.path());
    let config = dir.path().join("runner.toml");
    std::fs::write(&config, runner_toml(&kubeconfig, "")).unwrap();
    let fixture: PathBuf = tokio::task::spawn_blocking(|| support::fixtures().guest.clone())
        .await
        .unwrap();
    let mut cmd = runner(dir.path());
    cmd.args([
        "run",
        fixture.to_str().unwrap(),
        "--scenario",
        "passes",
        "--force-cleanup",
        "--env",
        "cluster",
    ]);
    cmd.arg("--config")
        .arg(&config)
        .arg("--junit")
        .arg(dir.path().join("junit.xml"));
    let ran = run_blocking(cmd).await;
    assert_eq!(
        ran.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        ran.stdout, ran.stderr
    );
    assert!(
        ran.stderr.contains(
            "--force-cleanup: scaled Deployment/mongodb in panda-system from 0 back to 1 replicas"
        ),
        "{}",
        ran.stderr
    );
    assert_eq!(replicas(double, "mongodb"), 1);
    assert_eq!(
        annotation(double, "mongodb", "scenario-runner/run-id"),
        None
    );
}
