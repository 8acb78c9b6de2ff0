//! The kube backend against a real cluster: the kube context in use, with `deploy/` applied
//! (`kubectl apply -k deploy/`). Ignored by default: no cluster is reachable from this
//! repository's CI, where the API double stands in. Run them with
//! `cargo test -p scenario-runner --test integration kube_cluster -- --ignored --test-threads 1`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use scenario_runner::config::{EnvironmentConfig, RunnerConfig};
use scenario_runner::env::{self, BlockMode, Environment, OpenContext};

/// `deploy/runner.toml`, or the file `SCENARIO_RUNNER_KUBE_CONFIG` names.
fn config() -> (EnvironmentConfig, PathBuf) {
    let path = std::env::var_os("SCENARIO_RUNNER_KUBE_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| testkit::workspace_root().join("deploy/runner.toml"));
    let config = RunnerConfig::load(&path).unwrap();
    let (_, env) = config.environment(Some("cluster"), &path).unwrap();
    (env.clone(), path.parent().unwrap().to_owned())
}

async fn open(run_id: &str, force_cleanup: bool) -> Arc<dyn Environment> {
    let (config, dir) = config();
    let ctx = OpenContext {
        name: "cluster".into(),
        run_id: run_id.into(),
        config_dir: dir.clone(),
        run_dir: std::env::temp_dir().join(run_id),
        force_cleanup,
    };
    env::open(&config, &ctx)
        .await
        .expect("the cluster environment opens (is deploy/ applied?)")
}

async fn deployment(name: &str) -> Deployment {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = kube::Client::try_default().await.unwrap();
    kube::Api::<Deployment>::namespaced(client, "panda-system")
        .get(name)
        .await
        .unwrap()
}

fn annotation(d: &Deployment, key: &str) -> Option<String> {
    d.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .cloned()
}

#[tokio::test]
#[ignore = "needs a cluster"]
async fn scale_to_zero_and_back_marks_then_unmarks_the_deployment() {
    let env = open("cluster-test-scale", false).await;
    env.scale("mongodb", 0).await.unwrap();
    let d = deployment("mongodb").await;
    assert_eq!(
        annotation(&d, "scenario-runner/original-replicas").as_deref(),
        Some("1")
    );
    env.wait_ready("mongodb", Duration::from_secs(120))
        .await
        .unwrap();
    assert!(!env.probe("mongodb").await.unwrap().reachable);
    env.scale("mongodb", 1).await.unwrap();
    env.wait_ready("mongodb", Duration::from_secs(180))
        .await
        .unwrap();
    assert_eq!(
        annotation(
            &deployment("mongodb").await,
            "scenario-runner/original-replicas"
        ),
        None
    );
    assert!(env.deviations().await.unwrap().is_empty());
}

#[tokio::test]
#[ignore = "needs a cluster"]
async fn a_deleted_pod_is_replaced_and_waited_for() {
    let env = open("cluster-test-delete", false).await;
    let deleted = env.delete_pod("mongodb").await.unwrap();
    env.wait_ready("mongodb", Duration::from_secs(180))
        .await
        .unwrap();
    let pods = env.pods("mongodb").await.unwrap();
    assert!(
        pods.iter().any(|p| p.ready && p.name != deleted),
        "{pods:?}"
    );
}

#[tokio::test]
#[ignore = "needs a cluster"]
async fn a_block_is_a_network_policy_until_unblocked() {
    let env = open("cluster-test-block", false).await;
    env.block_network("mongodb", BlockMode::Blackhole)
        .await
        .unwrap();
    let client = kube::Client::try_default().await.unwrap();
    let policies = kube::Api::<NetworkPolicy>::namespaced(client, "panda-system");
    let policy = policies.get("scenario-runner-block-mongodb").await.unwrap();
    let spec = policy.spec.unwrap();
    assert_eq!(spec.policy_types, Some(vec!["Ingress".to_owned()]));
    assert!(spec.ingress.unwrap_or_default().is_empty());
    env.unblock_network("mongodb").await.unwrap();
    assert!(
        policies
            .get_opt("scenario-runner-block-mongodb")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
#[ignore = "needs a cluster"]
async fn a_crashed_runs_changes_are_restored_by_cleanup() {
    let crashed = open("cluster-test-crashed", false).await;
    crashed.scale("mongodb", 0).await.unwrap();
    crashed
        .block_network("mongodb", BlockMode::Blackhole)
        .await
        .unwrap();
    drop(crashed);
    let (EnvironmentConfig::Kubernetes(config), dir) = config() else {
        panic!("not kubernetes")
    };
    let done = env::kube::cleanup(&config, "cluster", &dir).await.unwrap();
    assert_eq!(done.len(), 2, "{done:?}");
    let env = open("cluster-test-after", false).await;
    env.wait_ready("mongodb", Duration::from_secs(180))
        .await
        .unwrap();
    assert!(env.deviations().await.unwrap().is_empty());
}

async fn service_selector(name: &str) -> std::collections::BTreeMap<String, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = kube::Client::try_default().await.unwrap();
    kube::Api::<k8s_openapi::api::core::v1::Service>::namespaced(client, "panda-system")
        .get(name)
        .await
        .unwrap()
        .spec
        .and_then(|s| s.selector)
        .unwrap_or_default()
}

/// Needs the runner's image in the cluster (`proxy_image`, `scenario-runner:dev` by default).
#[tokio::test]
#[ignore = "needs a cluster"]
async fn a_latency_fault_places_the_proxy_and_its_removal_restores_the_service() {
    let env = open("cluster-test-fault", false).await;
    assert!(
        env.info().capabilities.faults,
        "the Role allows the placement"
    );
    let original = service_selector("mongodb").await;
    let id = env::next_fault_id();
    let fault = env::Fault::new(env::FaultKind::Latency {
        delay: Duration::from_millis(200),
        jitter: Duration::ZERO,
    });
    env.add_fault("mongodb", id, fault).await.unwrap();
    let placed = service_selector("mongodb").await;
    assert_eq!(
        placed.get("scenario-runner/proxy-for").map(String::as_str),
        Some("mongodb")
    );
    env.remove_fault("mongodb", id).await.unwrap();
    assert_eq!(service_selector("mongodb").await, original);
    assert!(env.deviations().await.unwrap().is_empty());
}
