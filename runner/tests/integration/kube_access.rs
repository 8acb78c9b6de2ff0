//! How the kube backend reaches things, against the API double: the Focus Server preflight and
//! port-forwards, MongoDB probes, memory from PodMetrics, and an earlier run's leftovers.

use crate::kube_support;

use std::time::Duration;

use kube_support::fixture::{Cluster, ORIGINAL};
use kube_support::store::{DEPLOYMENTS, NETWORKPOLICIES};
use kube_support::{backend_role, health_backend};
use scenario_runner::config::EnvironmentConfig;
use scenario_runner::env::{self, BlockMode, EnvError};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn the_focus_server_is_port_forwarded_when_no_url_is_set() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-8").await;
    let url = env.focus_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let body = reqwest::get(format!("{url}/health"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("ok"), "{body}");
    assert!(
        cluster
            .double
            .requests()
            .iter()
            .any(|r| r.contains("/pods/focus-server-") && r.contains("portforward?&ports=5000")),
        "{:#?}",
        cluster.double.requests()
    );
    let probe = env.probe("focus-server").await.unwrap();
    assert!(probe.reachable, "{probe:?}");
    assert!(
        probe
            .detail
            .contains("port-forward to svc/focus-server:5000 in panda-system"),
        "{probe:?}"
    );

    // The forward follows the pods: after a deletion the replacement serves.
    env.delete_pod("focus-server").await.unwrap();
    env.wait_ready("focus-server", Duration::from_secs(10))
        .await
        .unwrap();
    let status = reqwest::get(format!("{url}/health"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_preflight_says_exactly_what_was_tried() {
    let cluster = Cluster::start().await;
    let closed = testkit::free_port();
    let focus_url = format!("http://127.0.0.1:{closed}");

    // focus_url refused, and the forward finds no ready pod.
    cluster.double.patch(
        DEPLOYMENTS,
        "focus-server",
        json!({ "spec": { "replicas": 0 } }),
    );
    cluster
        .double
        .wait_for("no focus-server pod", Duration::from_secs(10), |d| {
            d.ready_pods("focus-server").is_empty()
        })
        .await;
    let err = cluster
        .open_with(&format!("focus_url = \"{focus_url}\""), "run-9", false)
        .await
        .err()
        .unwrap();
    let message = err.to_string();
    let expected = format!(
        "cannot reach Focus Server at {focus_url}: connection refused; tried port-forward to svc/focus-server:5000 in panda-system: "
    );
    assert!(message.contains(&expected), "{message}");
    assert!(
        message.contains("no ready pod of Deployment/focus-server (app=focus-server)"),
        "{message}"
    );

    // No focus_url, a ready pod, but the Role cannot open port-forwards.
    cluster.double.patch(
        DEPLOYMENTS,
        "focus-server",
        json!({ "spec": { "replicas": 1 } }),
    );
    cluster
        .double
        .wait_for("a focus-server pod", Duration::from_secs(10), |d| {
            d.ready_pods("focus-server").len() == 1
        })
        .await;
    cluster.double.set_role(Some(backend_role().revoke(
        "",
        "pods/portforward",
        "create",
    )));
    let message = cluster
        .open_with("", "run-9b", false)
        .await
        .err()
        .unwrap()
        .to_string();
    let expected = "cannot reach Focus Server: focus_url is not set; tried port-forward to svc/focus-server:5000 in panda-system: not permitted: create pods/portforward";
    assert!(message.starts_with(expected), "{message}");
    assert!(
        message.contains("resources: [\"pods/portforward\"], verbs: [\"create\"]"),
        "{message}"
    );

    // A reachable focus_url is used as it is, without a forward.
    cluster.double.set_role(Some(backend_role()));
    let (health, _task) = health_backend().await;
    let env = cluster
        .open_with(
            &format!("focus_url = \"http://{health}/\""),
            "run-9c",
            false,
        )
        .await
        .unwrap();
    assert_eq!(env.focus_url(), format!("http://{health}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn mongodb_is_probed_with_a_driver_ping_through_a_port_forward() {
    // Started from the test's own thread: its parent-death signal follows that thread.
    let mongo = testkit::MongoServer::start();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], mongo.port()));
    let cluster = Cluster::start_with_mongodb(Some(addr)).await;
    let env = cluster.open("run-10").await;
    let probe = env.probe("mongodb").await.unwrap();
    assert!(probe.reachable, "{probe:?}");
    assert!(
        probe.detail.contains("ping answered") && probe.detail.contains("port-forward"),
        "{probe:?}"
    );

    env.scale("mongodb", 0).await.unwrap();
    env.wait_ready("mongodb", Duration::from_secs(10))
        .await
        .unwrap();
    let probe = env.probe("mongodb").await.unwrap();
    assert!(!probe.reachable, "{probe:?}");
    assert!(probe.detail.contains("no endpoints"), "{probe:?}");
    env.scale("mongodb", 1).await.unwrap();
    env.wait_ready("mongodb", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(env.probe("mongodb").await.unwrap().reachable);
    let err = env.probe("redis").await.unwrap_err();
    assert!(matches!(err, EnvError::NotPermitted(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_comes_from_pod_metrics_or_is_unsupported() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-11").await;
    assert!(env.info().capabilities.memory);
    assert_eq!(env.memory("mongodb").await.unwrap(), Some(51200 * 1024));
    env.scale("mongodb", 0).await.unwrap();
    env.wait_ready("mongodb", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(env.memory("mongodb").await.unwrap(), None, "no pod runs");
    env.scale("mongodb", 1).await.unwrap();

    cluster.double.serve_metrics(false);
    let env = cluster.open("run-11b").await;
    assert!(!env.info().capabilities.memory);
    let err = env.memory("mongodb").await.unwrap_err();
    assert!(
        matches!(&err, EnvError::Unsupported(m) if m.contains("metrics.k8s.io/v1beta1") && m.contains("metrics-server")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_earlier_runs_leftovers_block_open_until_restored() {
    let cluster = Cluster::start().await;
    let crashed = cluster.open("run-crashed").await;
    crashed.scale("mongodb", 0).await.unwrap();
    crashed
        .block_network("focus-server", BlockMode::Blackhole)
        .await
        .unwrap();
    drop(crashed); // no rollback: as if the runner had died

    let err = cluster.open_with("", "run-12", false).await.err().unwrap();
    let message = err.to_string();
    assert!(
        message.contains("an earlier run left changes in namespace panda-system"),
        "{message}"
    );
    assert!(
        message.contains("Deployment/mongodb scaled by run run-crashed (original replicas 1)"),
        "{message}"
    );
    assert!(message.contains("NetworkPolicy/scenario-runner-block-focus-server blocking focus-server from run run-crashed"), "{message}");
    assert!(
        message.contains("scenario-runner cleanup --env cluster")
            && message.contains("--force-cleanup"),
        "{message}"
    );

    let env = cluster
        .open_with("", "run-12b", true)
        .await
        .expect("--force-cleanup restores, then opens");
    assert!(cluster.annotations("mongodb").get(ORIGINAL).is_none());
    assert!(cluster.double.list(NETWORKPOLICIES).is_empty());
    assert_eq!(env.replicas("mongodb").await.unwrap(), 1);
    env.wait_ready("mongodb", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(env.deviations().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_restores_and_says_what_it_did() {
    let cluster = Cluster::start().await;
    let crashed = cluster.open("run-crashed").await;
    crashed.scale("mongodb", 0).await.unwrap();
    crashed
        .block_network("mongodb", BlockMode::Blackhole)
        .await
        .unwrap();
    drop(crashed);

    let EnvironmentConfig::Kubernetes(config) = cluster.config("") else {
        unreachable!()
    };
    let done = env::kube::cleanup(&config, "cluster", cluster.dir.path())
        .await
        .unwrap();
    assert_eq!(done.len(), 2, "{done:?}");
    assert!(
        done[0].starts_with("deleted NetworkPolicy/scenario-runner-block-mongodb in panda-system"),
        "{done:?}"
    );
    assert!(
        done[1].starts_with("scaled Deployment/mongodb in panda-system from 0 back to 1 replicas"),
        "{done:?}"
    );
    assert_eq!(
        cluster.double.get(DEPLOYMENTS, "mongodb").unwrap()["spec"]["replicas"],
        1
    );
    assert!(cluster.annotations("mongodb").get(ORIGINAL).is_none());
    assert!(
        env::kube::cleanup(&config, "cluster", cluster.dir.path())
            .await
            .unwrap()
            .is_empty(),
        "idempotent"
    );
    cluster
        .double
        .wait_for("mongodb back", Duration::from_secs(10), |d| {
            d.ready_pods("mongodb").len() == 1
        })
        .await;
}
