//! Network faults on the kube backend against the API double: the fault proxy's placement
//! (headless Service, proxy Deployment, the workload's Service re-pointed with its original
//! selector in an annotation), its undoing with the last fault, the refusal where the Role
//! lacks a rule, and `cleanup` after a crash. The double runs no containers: the proxy
//! Deployment's pods stand for a real `scenario-runner proxy` started here
//! ([`ApiDouble::run_image`]), so the backend's control calls go through its own
//! port-forward to that process, whose fault table the tests then read.

use crate::kube_support;
use crate::proxy_cmd::{ProxyProcess, client, echo_server, round_trip};

use std::time::Duration;

use kube_support::backend_role;
use kube_support::fixture::{Cluster, RUN_ID};
use kube_support::store::{DEPLOYMENTS, SERVICES};
use scenario_runner::env::{Direction, EnvError, Fault, FaultKind, next_fault_id};
use serde_json::{Value, json};

const IMAGE: &str = "scenario-runner:test";
const EXTRA: &str = "proxy_image = \"scenario-runner:test\"";
const ORIGINAL_SELECTOR: &str = "scenario-runner/original-selector";
const PROXY_FOR: &str = "scenario-runner/proxy-for";

fn latency(ms: u64) -> Fault {
    Fault::new(FaultKind::Latency {
        delay: Duration::from_millis(ms),
        jitter: Duration::ZERO,
    })
}

/// A double with a `mongodb` Service, whose proxy pods stand for a real local proxy.
async fn cluster_with_proxy() -> (Cluster, ProxyProcess, Echo) {
    let cluster = Cluster::start().await;
    cluster
        .double
        .add_service("mongodb", &[("app", "mongodb")], 27017, 27017);
    let (echo, task) = echo_server().await;
    let proxy = ProxyProcess::start(&echo.to_string()).await;
    cluster
        .double
        .run_image(IMAGE, proxy.control, Some(proxy.listen));
    (
        cluster,
        proxy,
        Echo {
            addr: echo,
            _task: task,
        },
    )
}

/// The echo server standing for MongoDB's pods.
struct Echo {
    addr: std::net::SocketAddr,
    _task: tokio::task::JoinHandle<()>,
}

fn service(cluster: &Cluster, name: &str) -> Value {
    cluster.double.get(SERVICES, name).expect("the Service")
}

/// The cluster as the placement found it: the Service's own selector, and neither the proxy
/// Deployment nor the headless Service.
fn assert_placement_gone(cluster: &Cluster) {
    assert_eq!(
        service(cluster, "mongodb")["spec"]["selector"],
        json!({ "app": "mongodb" })
    );
    for (kind, name) in [
        (DEPLOYMENTS, "scenario-runner-proxy-mongodb"),
        (SERVICES, "scenario-runner-direct-mongodb"),
    ] {
        let left = cluster.double.get(kind, name);
        assert!(left.is_none(), "{name} is still there: {left:?}");
    }
}

async fn faults_at(proxy: &ProxyProcess) -> Value {
    client()
        .get(format!("{}/faults", proxy.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_places_the_proxy_and_its_last_removal_undoes_it() {
    let (cluster, proxy, echo) = cluster_with_proxy().await;
    // In-"cluster" clients reach MongoDB through its Service, which follows the selector.
    let svc = cluster
        .double
        .service(DEPLOYMENTS, "mongodb", echo.addr)
        .await;
    let env = cluster.open_with(EXTRA, "run-p1", false).await.unwrap();
    assert!(env.info().capabilities.faults);
    let before = round_trip(svc.addr).await;

    let first = next_fault_id();
    let mut upstream = latency(300);
    upstream.direction = Direction::Upstream;
    env.add_fault("mongodb", first, upstream).await.unwrap();
    let delayed = round_trip(svc.addr).await;
    println!("through the Service: {before:?} before, {delayed:?} with 300 ms upstream latency");
    assert!(delayed >= Duration::from_millis(300), "{delayed:?}");

    let deployment = cluster
        .double
        .get(DEPLOYMENTS, "scenario-runner-proxy-mongodb")
        .expect("the proxy Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], IMAGE);
    assert_eq!(
        container["args"],
        json!([
            "proxy",
            "--listen",
            "0.0.0.0:27017",
            "--upstream",
            "scenario-runner-direct-mongodb.panda-system.svc:27017",
            "--control",
            "0.0.0.0:8475"
        ])
    );
    assert_eq!(deployment["metadata"]["labels"][RUN_ID], "run-p1");
    let direct = service(&cluster, "scenario-runner-direct-mongodb");
    assert_eq!(direct["spec"]["clusterIP"], "None", "{direct}");
    assert_eq!(direct["spec"]["selector"], json!({ "app": "mongodb" }));
    let redirected = service(&cluster, "mongodb");
    assert_eq!(
        redirected["spec"]["selector"],
        json!({ "app.kubernetes.io/managed-by": "scenario-runner", PROXY_FOR: "mongodb" })
    );
    let annotations = &redirected["metadata"]["annotations"];
    assert_eq!(annotations[ORIGINAL_SELECTOR], r#"{"app":"mongodb"}"#);
    assert_eq!(annotations[RUN_ID], "run-p1");
    assert_eq!(faults_at(&proxy).await[0]["id"], first);
    let deviations = env.deviations().await.unwrap();
    assert!(
        deviations
            .iter()
            .any(|d| d.problem.contains("re-pointed to a fault proxy")),
        "{deviations:?}"
    );

    let second = next_fault_id();
    env.add_fault("mongodb", second, latency(10)).await.unwrap();
    assert_eq!(faults_at(&proxy).await.as_array().unwrap().len(), 2);
    env.remove_fault("mongodb", first).await.unwrap();
    assert!(
        cluster
            .double
            .get(DEPLOYMENTS, "scenario-runner-proxy-mongodb")
            .is_some()
    );
    assert_eq!(faults_at(&proxy).await[0]["id"], second);
    let unknown = env.remove_fault("mongodb", first).await.unwrap_err();
    assert!(matches!(unknown, EnvError::NotFound(_)), "{unknown:?}");

    env.remove_fault("mongodb", second).await.unwrap();
    let after = round_trip(svc.addr).await;
    assert!(after < Duration::from_millis(300), "{after:?}");
    let restored = service(&cluster, "mongodb");
    assert_eq!(restored["spec"]["selector"], json!({ "app": "mongodb" }));
    let annotations = restored["metadata"]["annotations"].as_object();
    assert!(
        annotations.is_none_or(|a| !a.contains_key(ORIGINAL_SELECTOR) && !a.contains_key(RUN_ID)),
        "{restored}"
    );
    assert_placement_gone(&cluster);
    assert_eq!(faults_at(&proxy).await, json!([]));
    assert!(env.deviations().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_giving_up_mid_placement_leaves_nothing_after_the_rollback() {
    let (cluster, proxy, _echo) = cluster_with_proxy().await;
    let env = cluster.open_with(EXTRA, "run-p6", false).await.unwrap();
    let id = next_fault_id();
    // The host's deadline, much shorter than a placement: the add is dropped midway.
    let cut = tokio::time::timeout(
        Duration::from_millis(50),
        env.add_fault("mongodb", id, latency(100)),
    )
    .await;
    assert!(
        cut.is_err(),
        "the placement takes longer than 50 ms: {cut:?}"
    );
    // The rollback removes the fault the host journalled: it never arrived, and the
    // placement, completed in the background, is undone.
    let removed = env.remove_fault("mongodb", id).await.unwrap_err();
    assert!(matches!(removed, EnvError::NotFound(_)), "{removed:?}");
    assert_placement_gone(&cluster);
    assert_eq!(faults_at(&proxy).await, json!([]));
    assert!(env.deviations().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn another_runs_placement_is_refused_and_left_alone() {
    let (cluster, _proxy, _echo) = cluster_with_proxy().await;
    let env = cluster.open_with(EXTRA, "run-p7", false).await.unwrap();
    // Another run, still going, placed its proxy after this one opened.
    let other = json!({
        "metadata": { "annotations": { ORIGINAL_SELECTOR: r#"{"app":"mongodb"}"#, RUN_ID: "run-other" } },
        "spec": { "selector": { "app": null, PROXY_FOR: "mongodb" } },
    });
    cluster.double.patch(SERVICES, "mongodb", other);
    cluster.double.add_workload(
        DEPLOYMENTS,
        "scenario-runner-proxy-mongodb",
        &[(PROXY_FOR, "mongodb")],
        1,
        None,
    );
    cluster.double.patch(
        DEPLOYMENTS,
        "scenario-runner-proxy-mongodb",
        json!({ "metadata": { "labels": { RUN_ID: "run-other" } } }),
    );
    let refused = env
        .add_fault("mongodb", next_fault_id(), latency(100))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, EnvError::Failed(m) if m.contains("already re-pointed to a fault proxy by run run-other")),
        "{refused:?}"
    );
    let service = service(&cluster, "mongodb");
    assert_eq!(service["spec"]["selector"], json!({ PROXY_FOR: "mongodb" }));
    assert_eq!(service["metadata"]["annotations"][RUN_ID], "run-other");
    assert!(
        cluster
            .double
            .get(DEPLOYMENTS, "scenario-runner-proxy-mongodb")
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_without_a_verb_makes_the_fault_unsupported_naming_the_rule() {
    let (cluster, _proxy, _echo) = cluster_with_proxy().await;
    cluster
        .double
        .set_role(Some(backend_role().revoke("apps", "deployments", "create")));
    let env = cluster.open_with(EXTRA, "run-p2", false).await.unwrap();
    assert!(!env.info().capabilities.faults);
    let refused = env
        .add_fault("mongodb", next_fault_id(), latency(100))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, EnvError::Unsupported(m)
            if m.contains(r#"{apiGroups: ["apps"], resources: ["deployments"], verbs: ["create"]}"#)),
        "{refused:?}"
    );
    assert_placement_gone(&cluster);
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_after_a_crash_restores_the_selector_and_deletes_the_proxy() {
    let (cluster, _proxy, _echo) = cluster_with_proxy().await;
    let env = cluster.open_with(EXTRA, "run-p3", false).await.unwrap();
    env.add_fault("mongodb", next_fault_id(), latency(100))
        .await
        .unwrap();
    // The crash: the run ends without removing its fault or shutting the environment down.
    drop(env);

    let refused = match cluster.open_with(EXTRA, "run-p4", false).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a new run must refuse to start over the leftovers"),
    };
    assert!(
        refused.contains("Service/mongodb re-pointed to a fault proxy by run run-p3"),
        "{refused}"
    );

    let config = cluster.config(EXTRA);
    let scenario_runner::config::EnvironmentConfig::Kubernetes(kube) = &config else {
        panic!("a kubernetes environment");
    };
    let done = scenario_runner::env::kube::cleanup(kube, "cluster", cluster.dir.path())
        .await
        .unwrap();
    let text = done.join("\n");
    assert!(
        text.contains("restored the selector of Service/mongodb"),
        "{text}"
    );
    assert!(
        text.contains("deleted Deployment/scenario-runner-proxy-mongodb"),
        "{text}"
    );
    assert!(
        text.contains("deleted Service/scenario-runner-direct-mongodb"),
        "{text}"
    );
    let restored = service(&cluster, "mongodb");
    assert_eq!(restored["spec"]["selector"], json!({ "app": "mongodb" }));
    assert_placement_gone(&cluster);
    let again = scenario_runner::env::kube::cleanup(kube, "cluster", cluster.dir.path())
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    cluster.open_with(EXTRA, "run-p5", false).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_original_selector_is_refused_naming_the_service() {
    let cluster = Cluster::start().await;
    cluster
        .double
        .add_service("mongodb", &[("app", "mongodb")], 27017, 27017);
    let redirect = json!({
        "metadata": { "annotations": { ORIGINAL_SELECTOR: "app=mongodb", RUN_ID: "run-old" } },
        "spec": { "selector": { "app": null, PROXY_FOR: "mongodb" } },
    });
    cluster.double.patch(SERVICES, "mongodb", redirect);
    let config = cluster.config(EXTRA);
    let scenario_runner::config::EnvironmentConfig::Kubernetes(kube) = &config else {
        panic!("a kubernetes environment");
    };
    let refused = scenario_runner::env::kube::cleanup(kube, "cluster", cluster.dir.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("Service mongodb in panda-system")
            && refused.contains(ORIGINAL_SELECTOR)
            && refused.contains("corrupt"),
        "{refused}"
    );
    assert_eq!(
        service(&cluster, "mongodb")["spec"]["selector"],
        json!({ PROXY_FOR: "mongodb" }),
        "nothing guessed"
    );
}
