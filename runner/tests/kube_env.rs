//! The kube backend against the API double: scaling with the crash-safe annotation, pod
//! deletion and readiness, NetworkPolicy blocks, port-forwards, probes, metrics, RBAC errors,
//! the Focus Server preflight and the restoration of an earlier run's leftovers.

mod kube_support;

use std::sync::Arc;
use std::time::Duration;

use kube_support::store::{DEPLOYMENTS, NETWORKPOLICIES, PODS, STATEFULSETS};
use kube_support::{ApiDouble, backend_role, environment_toml, health_backend};
use scenario_runner::config::EnvironmentConfig;
use scenario_runner::env::{self, BlockMode, EnvError, Environment, OpenContext};
use serde_json::{Value, json};

const ORIGINAL: &str = "scenario-runner/original-replicas";
const RUN_ID: &str = "scenario-runner/run-id";

/// A double with mongodb and focus-server Deployments (one ready pod each) under the
/// backend's Role, and a scratch folder.
struct Cluster {
    double: ApiDouble,
    dir: tempfile::TempDir,
    _health: tokio::task::JoinHandle<()>,
}

impl Cluster {
    async fn start() -> Self {
        Self::start_with_mongodb(None).await
    }

    async fn start_with_mongodb(mongodb: Option<std::net::SocketAddr>) -> Self {
        let double = ApiDouble::start().await;
        let (health, task) = health_backend().await;
        double.add_workload(DEPLOYMENTS, "mongodb", &[("app", "mongodb")], 1, mongodb);
        double.add_workload(DEPLOYMENTS, "focus-server", &[("app", "focus-server")], 1, Some(health));
        double.set_role(Some(backend_role()));
        double.wait_for("both pods ready", Duration::from_secs(10), |d| d.ready_pods("").len() == 2).await;
        Self { double, dir: tempfile::tempdir().unwrap(), _health: task }
    }

    fn config(&self, extra: &str) -> EnvironmentConfig {
        let kubeconfig = self.double.write_kubeconfig(self.dir.path());
        let table = environment_toml(&kubeconfig, extra);
        toml::from_str(&table).expect("a valid environment table")
    }

    fn context(&self, run_id: &str, force_cleanup: bool) -> OpenContext {
        OpenContext {
            name: "cluster".into(),
            run_id: run_id.into(),
            config_dir: self.dir.path().to_owned(),
            run_dir: self.dir.path().join(run_id),
            force_cleanup,
        }
    }

    async fn open(&self, run_id: &str) -> Arc<dyn Environment> {
        self.open_with("", run_id, false).await.expect("the environment opens")
    }

    async fn open_with(&self, extra: &str, run_id: &str, force: bool) -> Result<Arc<dyn Environment>, EnvError> {
        env::open(&self.config(extra), &self.context(run_id, force)).await
    }

    fn annotations(&self, name: &str) -> Value {
        self.double.get(DEPLOYMENTS, name).unwrap().pointer("/metadata/annotations").cloned().unwrap_or(json!({}))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_down_and_restore_writes_then_removes_the_annotation() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-1").await;
    assert!(env.deviations().await.unwrap().is_empty());

    env.scale("mongodb", 0).await.unwrap();
    let annotations = cluster.annotations("mongodb");
    assert_eq!(annotations[ORIGINAL], "1", "{annotations}");
    assert_eq!(annotations[RUN_ID], "run-1", "{annotations}");
    assert_eq!(env.replicas("mongodb").await.unwrap(), 0);
    assert!(
        cluster.double.requests().iter().any(|r| r == "PATCH /apis/apps/v1/namespaces/panda-system/deployments/mongodb/scale?"
            || r == "PATCH /apis/apps/v1/namespaces/panda-system/deployments/mongodb/scale"),
        "scaled through the /scale subresource: {:?}",
        cluster.double.requests()
    );
    env.wait_ready("mongodb", Duration::from_secs(10)).await.unwrap();
    let pods = env.pods("mongodb").await.unwrap();
    assert!(pods.iter().all(|p| !p.ready), "no ready pod at 0 replicas: {pods:?}");
    let deviations = env.deviations().await.unwrap();
    assert!(deviations.iter().any(|d| d.target == "mongodb" && d.problem.contains("scaled by run run-1")), "{deviations:?}");

    env.scale("mongodb", 1).await.unwrap();
    let annotations = cluster.annotations("mongodb");
    assert!(annotations.get(ORIGINAL).is_none() && annotations.get(RUN_ID).is_none(), "{annotations}");
    env.wait_ready("mongodb", Duration::from_secs(10)).await.unwrap();
    assert_eq!(env.pods("mongodb").await.unwrap().iter().filter(|p| p.ready).count(), 1);
    assert!(env.deviations().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statefulset_scales_through_its_own_subresource() {
    let cluster = Cluster::start().await;
    cluster.double.add_workload(STATEFULSETS, "mongodb-rs", &[("app", "mongodb-rs")], 1, None);
    let extra = "[workloads.mongodb-rs]\nkind = \"StatefulSet\"\nname = \"mongodb-rs\"\nselector = \"app=mongodb-rs\"\n";
    let mut config = cluster.config("");
    let EnvironmentConfig::Kubernetes(kube) = &mut config else { unreachable!() };
    kube.workloads.insert("mongodb-rs".into(), toml::from_str(extra.split_once('\n').unwrap().1).unwrap());
    let env = env::open(&config, &cluster.context("run-sts", false)).await.unwrap();
    env.wait_ready("mongodb-rs", Duration::from_secs(10)).await.unwrap();
    assert_eq!(env.pods("mongodb-rs").await.unwrap()[0].name, "mongodb-rs-0");
    env.scale("mongodb-rs", 2).await.unwrap();
    env.wait_ready("mongodb-rs", Duration::from_secs(10)).await.unwrap();
    let names: Vec<String> = env.pods("mongodb-rs").await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"mongodb-rs-1".to_owned()), "{names:?}");
    env.scale("mongodb-rs", 1).await.unwrap();
    let sts = cluster.double.get(STATEFULSETS, "mongodb-rs").unwrap();
    assert!(sts.pointer("/metadata/annotations/scenario-runner~1original-replicas").is_none(), "{sts}");
    assert!(cluster.double.requests().iter().any(|r| r.contains("/statefulsets/mongodb-rs/scale")));
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_pod_then_wait_ready_sees_a_replacement_with_a_new_name() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-2").await;
    let before = env.pods("mongodb").await.unwrap();
    assert_eq!(before.len(), 1);
    assert!(before[0].ready);

    let deleted = env.delete_pod("mongodb").await.unwrap();
    assert_eq!(deleted, before[0].name);
    let during = env.pods("mongodb").await.unwrap();
    assert!(during.iter().all(|p| !p.ready), "the deleted pod terminates, not ready: {during:?}");

    env.wait_ready("mongodb", Duration::from_secs(10)).await.unwrap();
    let after = env.pods("mongodb").await.unwrap();
    let ready: Vec<_> = after.iter().filter(|p| p.ready).collect();
    assert_eq!(ready.len(), 1, "{after:?}");
    assert_ne!(ready[0].name, deleted, "the replacement has a new name");
    assert!(cluster.double.requests().iter().any(|r| r.contains("/deployments?") && r.contains("watch=true")), "waited with a watch");
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_ready_times_out_with_the_counts() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-3").await;
    // The replacement of a deleted pod will never get ready (a crash-looping image).
    let never = json!({ "spec": { "template": { "metadata": { "annotations": { kube_support::NEVER_READY_ANNOTATION: "true" } } } } });
    cluster.double.patch(DEPLOYMENTS, "mongodb", never);
    env.delete_pod("mongodb").await.unwrap();
    let err = env.wait_ready("mongodb", Duration::from_millis(1500)).await.unwrap_err();
    assert!(matches!(&err, EnvError::Timeout(m) if m.contains("wait-ready mongodb: 0 of 1 replicas ready after 1.5 s")), "{err:?}");
    assert!(matches!(&err, EnvError::Timeout(m) if m.contains("(Deployment/mongodb in namespace panda-system)")), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn block_and_unblock_create_and_delete_the_policy() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-4").await;
    env.block_network("mongodb", BlockMode::Blackhole).await.unwrap();

    let policy = cluster.double.get(NETWORKPOLICIES, "scenario-runner-block-mongodb").expect("the policy exists");
    assert_eq!(policy["apiVersion"], "networking.k8s.io/v1");
    assert_eq!(policy["kind"], "NetworkPolicy");
    assert_eq!(policy["metadata"]["namespace"], "panda-system");
    let labels = &policy["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "scenario-runner", "{policy}");
    assert_eq!(labels[RUN_ID], "run-4", "{policy}");
    assert_eq!(labels["scenario-runner/workload"], "mongodb", "{policy}");
    let spec = policy["spec"].as_object().unwrap();
    assert_eq!(spec["podSelector"], json!({ "matchLabels": { "app": "mongodb" } }));
    assert_eq!(spec["policyTypes"], json!(["Ingress"]));
    assert!(spec.get("ingress").is_none_or(|i| i.as_array().is_some_and(Vec::is_empty)), "no ingress rule: {policy}");
    assert!(spec.get("egress").is_none(), "egress untouched: {policy}");
    let keys: Vec<&String> = spec.keys().collect();
    assert_eq!(keys, ["podSelector", "policyTypes"], "nothing else in the spec");

    let deviations = env.deviations().await.unwrap();
    assert!(deviations.iter().any(|d| d.target == "mongodb" && d.problem.contains("network blocked")), "{deviations:?}");
    env.block_network("mongodb", BlockMode::Blackhole).await.expect("blocking twice is a no-op");
    assert_eq!(cluster.double.list(NETWORKPOLICIES).len(), 1);

    env.unblock_network("mongodb").await.unwrap();
    assert!(cluster.double.list(NETWORKPOLICIES).is_empty());
    env.unblock_network("mongodb").await.expect("unblocking twice is a no-op");
    assert!(env.deviations().await.unwrap().is_empty());

    let refused = env.block_network("mongodb", BlockMode::Refuse).await.unwrap_err();
    assert!(matches!(&refused, EnvError::Unsupported(m) if m.contains("refuse mode") && m.contains("blackhole")), "{refused:?}");
    assert!(!env.info().capabilities.block_refuse);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_left_by_another_run_is_not_taken_over() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-5").await;
    cluster.double.create(NETWORKPOLICIES, json!({
        "metadata": { "name": "scenario-runner-block-mongodb", "labels": { RUN_ID: "someone-else" } },
        "spec": { "podSelector": {}, "policyTypes": ["Ingress"] }
    }));
    let err = env.block_network("mongodb", BlockMode::Blackhole).await.unwrap_err();
    assert!(matches!(&err, EnvError::Failed(m) if m.contains("already exists, from run someone-else")), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_rbac_rule_is_a_forbidden_error_that_names_it() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-6").await;
    cluster.double.set_role(Some(backend_role().revoke("apps", "deployments/scale", "patch")));
    let result = env.scale("mongodb", 0).await;
    let err = result.expect_err(&format!("{:#?}", cluster.double.requests()));
    let EnvError::NotPermitted(message) = &err else { panic!("not NotPermitted: {err:?}") };
    assert!(message.contains(r#"patch deployments/scale.apps "mongodb" in namespace panda-system: forbidden"#), "{message}");
    assert!(message.contains(r#"{apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["patch"]}"#), "{message}");
    assert!(message.contains("cannot patch resource \"deployments/scale\" in API group \"apps\""), "{message}");
    assert!(cluster.annotations("mongodb").get(ORIGINAL).is_none(), "a failed scale leaves no mark");
    assert_eq!(cluster.double.get(DEPLOYMENTS, "mongodb").unwrap()["spec"]["replicas"], 1);

    cluster.double.set_role(Some(backend_role().revoke("networking.k8s.io", "networkpolicies", "create")));
    let err = env.block_network("mongodb", BlockMode::Blackhole).await.unwrap_err();
    assert!(matches!(&err, EnvError::NotPermitted(m) if m.contains("create networkpolicies.networking.k8s.io")), "{err:?}");

    // A watch is only needed while the workload is not ready: right after a deletion.
    cluster.double.set_role(Some(backend_role().revoke("apps", "deployments", "watch")));
    env.delete_pod("mongodb").await.unwrap();
    let err = env.wait_ready("mongodb", Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(&err, EnvError::NotPermitted(m) if m.contains("watch deployments.apps \"mongodb\"")), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_workload_object_is_not_found_at_open() {
    let cluster = Cluster::start().await;
    let mut config = cluster.config("");
    let EnvironmentConfig::Kubernetes(kube) = &mut config else { unreachable!() };
    kube.workloads.get_mut("mongodb").unwrap().name = "mongo".into();
    let err = env::open(&config, &cluster.context("run-7", false)).await.err().expect("open fails");
    let EnvError::NotFound(message) = &err else { panic!("not NotFound: {err:?}") };
    assert!(message.contains(r#"get deployments.apps "mongo" in namespace panda-system: not found"#), "{message}");
    assert!(message.contains("Deployment/mongo"), "{message}");

    let env = cluster.open("run-7b").await;
    let err = env.scale("redis", 0).await.unwrap_err();
    assert!(matches!(&err, EnvError::NotPermitted(m) if m.contains("\"redis\" is not declared")), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_focus_server_is_port_forwarded_when_no_url_is_set() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-8").await;
    let url = env.focus_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let body = reqwest::get(format!("{url}/health")).await.unwrap().text().await.unwrap();
    assert!(body.contains("ok"), "{body}");
    assert!(cluster.double.requests().iter().any(|r| r.contains("/pods/focus-server-") && r.contains("portforward?&ports=5000")), "{:#?}", cluster.double.requests());
    let probe = env.probe("focus-server").await.unwrap();
    assert!(probe.reachable, "{probe:?}");
    assert!(probe.detail.contains("port-forward to svc/focus-server:5000 in panda-system"), "{probe:?}");

    // The forward follows the pods: after a deletion the replacement serves.
    env.delete_pod("focus-server").await.unwrap();
    env.wait_ready("focus-server", Duration::from_secs(10)).await.unwrap();
    let status = reqwest::get(format!("{url}/health")).await.unwrap().status();
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_preflight_says_exactly_what_was_tried() {
    let cluster = Cluster::start().await;
    let closed = testkit::free_port();
    let focus_url = format!("http://127.0.0.1:{closed}");

    // focus_url refused, and the forward finds no ready pod.
    cluster.double.patch(DEPLOYMENTS, "focus-server", json!({ "spec": { "replicas": 0 } }));
    cluster.double.wait_for("no focus-server pod", Duration::from_secs(10), |d| d.ready_pods("focus-server").is_empty()).await;
    let err = cluster.open_with(&format!("focus_url = \"{focus_url}\""), "run-9", false).await.err().unwrap();
    let message = err.to_string();
    let expected = format!(
        "cannot reach Focus Server at {focus_url}: connection refused; tried port-forward to svc/focus-server:5000 in panda-system: "
    );
    assert!(message.contains(&expected), "{message}");
    assert!(message.contains("no ready pod of Deployment/focus-server (app=focus-server)"), "{message}");

    // No focus_url, a ready pod, but the Role cannot open port-forwards.
    cluster.double.patch(DEPLOYMENTS, "focus-server", json!({ "spec": { "replicas": 1 } }));
    cluster.double.wait_for("a focus-server pod", Duration::from_secs(10), |d| d.ready_pods("focus-server").len() == 1).await;
    cluster.double.set_role(Some(backend_role().revoke("", "pods/portforward", "create")));
    let message = cluster.open_with("", "run-9b", false).await.err().unwrap().to_string();
    let expected = "cannot reach Focus Server: focus_url is not set; tried port-forward to svc/focus-server:5000 in panda-system: not permitted: create pods/portforward";
    assert!(message.starts_with(expected), "{message}");
    assert!(message.contains("resources: [\"pods/portforward\"], verbs: [\"create\"]"), "{message}");

    // A reachable focus_url is used as it is, without a forward.
    cluster.double.set_role(Some(backend_role()));
    let (health, _task) = health_backend().await;
    let env = cluster.open_with(&format!("focus_url = \"http://{health}/\""), "run-9c", false).await.unwrap();
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
    assert!(probe.detail.contains("ping answered") && probe.detail.contains("port-forward"), "{probe:?}");

    env.scale("mongodb", 0).await.unwrap();
    env.wait_ready("mongodb", Duration::from_secs(10)).await.unwrap();
    let probe = env.probe("mongodb").await.unwrap();
    assert!(!probe.reachable, "{probe:?}");
    assert!(probe.detail.contains("no endpoints"), "{probe:?}");
    env.scale("mongodb", 1).await.unwrap();
    env.wait_ready("mongodb", Duration::from_secs(10)).await.unwrap();
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
    env.wait_ready("mongodb", Duration::from_secs(10)).await.unwrap();
    assert_eq!(env.memory("mongodb").await.unwrap(), None, "no pod runs");
    env.scale("mongodb", 1).await.unwrap();

    cluster.double.serve_metrics(false);
    let env = cluster.open("run-11b").await;
    assert!(!env.info().capabilities.memory);
    let err = env.memory("mongodb").await.unwrap_err();
    assert!(matches!(&err, EnvError::Unsupported(m) if m.contains("metrics.k8s.io/v1beta1") && m.contains("metrics-server")), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_earlier_runs_leftovers_block_open_until_restored() {
    let cluster = Cluster::start().await;
    let crashed = cluster.open("run-crashed").await;
    crashed.scale("mongodb", 0).await.unwrap();
    crashed.block_network("focus-server", BlockMode::Blackhole).await.unwrap();
    drop(crashed); // no rollback: as if the runner had died

    let err = cluster.open_with("", "run-12", false).await.err().unwrap();
    let message = err.to_string();
    assert!(message.contains("an earlier run left changes in namespace panda-system"), "{message}");
    assert!(message.contains("Deployment/mongodb scaled by run run-crashed (original replicas 1)"), "{message}");
    assert!(message.contains("NetworkPolicy/scenario-runner-block-focus-server blocking focus-server from run run-crashed"), "{message}");
    assert!(message.contains("scenario-runner cleanup --env cluster") && message.contains("--force-cleanup"), "{message}");

    let env = cluster.open_with("", "run-12b", true).await.expect("--force-cleanup restores, then opens");
    assert!(cluster.annotations("mongodb").get(ORIGINAL).is_none());
    assert!(cluster.double.list(NETWORKPOLICIES).is_empty());
    assert_eq!(env.replicas("mongodb").await.unwrap(), 1);
    env.wait_ready("mongodb", Duration::from_secs(10)).await.unwrap();
    assert!(env.deviations().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_restores_and_says_what_it_did() {
    let cluster = Cluster::start().await;
    let crashed = cluster.open("run-crashed").await;
    crashed.scale("mongodb", 0).await.unwrap();
    crashed.block_network("mongodb", BlockMode::Blackhole).await.unwrap();
    drop(crashed);

    let EnvironmentConfig::Kubernetes(config) = cluster.config("") else { unreachable!() };
    let done = env::kube::cleanup(&config, "cluster", cluster.dir.path()).await.unwrap();
    assert_eq!(done.len(), 2, "{done:?}");
    assert!(done[0].starts_with("deleted NetworkPolicy/scenario-runner-block-mongodb in panda-system"), "{done:?}");
    assert!(done[1].starts_with("scaled Deployment/mongodb in panda-system from 0 back to 1 replicas"), "{done:?}");
    assert_eq!(cluster.double.get(DEPLOYMENTS, "mongodb").unwrap()["spec"]["replicas"], 1);
    assert!(cluster.annotations("mongodb").get(ORIGINAL).is_none());
    assert!(env::kube::cleanup(&config, "cluster", cluster.dir.path()).await.unwrap().is_empty(), "idempotent");
    cluster.double.wait_for("mongodb back", Duration::from_secs(10), |d| d.ready_pods("mongodb").len() == 1).await;
    let _ = PODS;
}
