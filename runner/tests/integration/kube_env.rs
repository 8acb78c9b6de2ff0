//! The kube backend's workload operations against the API double: scaling with the
//! crash-safe annotation, pod deletion and readiness, NetworkPolicy blocks and RBAC errors.

use crate::kube_support;

use std::time::Duration;

use kube_support::backend_role;
use kube_support::fixture::{Cluster, ORIGINAL, RUN_ID};
use kube_support::store::{DEPLOYMENTS, NETWORKPOLICIES, STATEFULSETS};
use scenario_runner::config::EnvironmentConfig;
use scenario_runner::env::{self, BlockMode, EnvError};
use serde_json::json;

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
        cluster.double.requests().iter().any(|r| r
            == "PATCH /apis/apps/v1/namespaces/panda-system/deployments/mongodb/scale?"
            || r == "PATCH /apis/apps/v1/namespaces/panda-system/deployments/mongodb/scale"),
        "scaled through the /scale subresource: {:?}",
        cluster.double.requests()
    );
    env.wait_ready("mongodb", Duration::from_secs(10))
        .await
        .unwrap();
    let pods = env.pods("mongodb").await.unwrap();
    assert!(
        pods.iter().all(|p| !p.ready),
        "no ready pod at 0 replicas: {pods:?}"
    );
    let deviations = env.deviations().await.unwrap();
    assert!(
        deviations
            .iter()
            .any(|d| d.target == "mongodb" && d.problem.contains("scaled by run run-1")),
        "{deviations:?}"
    );

    env.scale("mongodb", 1).await.unwrap();
    let annotations = cluster.annotations("mongodb");
    assert!(
        annotations.get(ORIGINAL).is_none() && annotations.get(RUN_ID).is_none(),
        "{annotations}"
    );
    env.wait_ready("mongodb", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        env.pods("mongodb")
            .await
            .unwrap()
            .iter()
            .filter(|p| p.ready)
            .count(),
        1
    );
    assert!(env.deviations().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statefulset_scales_through_its_own_subresource() {
    let cluster = Cluster::start().await;
    cluster.double.add_workload(
        STATEFULSETS,
        "mongodb-rs",
        &[("app", "mongodb-rs")],
        1,
        None,
    );
    let extra = "[workloads.mongodb-rs]\nkind = \"StatefulSet\"\nname = \"mongodb-rs\"\nselector = \"app=mongodb-rs\"\n";
    let mut config = cluster.config("");
    let EnvironmentConfig::Kubernetes(kube) = &mut config else {
        unreachable!()
    };
    kube.workloads.insert(
        "mongodb-rs".into(),
        toml::from_str(extra.split_once('\n').unwrap().1).unwrap(),
    );
    let env = env::open(&config, &cluster.context("run-sts", false))
        .await
        .unwrap();
    env.wait_ready("mongodb-rs", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        env.pods("mongodb-rs").await.unwrap()[0].name,
        "mongodb-rs-0"
    );
    env.scale("mongodb-rs", 2).await.unwrap();
    env.wait_ready("mongodb-rs", Duration::from_secs(10))
        .await
        .unwrap();
    let names: Vec<String> = env
        .pods("mongodb-rs")
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"mongodb-rs-1".to_owned()), "{names:?}");
    env.scale("mongodb-rs", 1).await.unwrap();
    let sts = cluster.double.get(STATEFULSETS, "mongodb-rs").unwrap();
    assert!(
        sts.pointer("/metadata/annotations/scenario-runner~1original-replicas")
            .is_none(),
        "{sts}"
    );
    assert!(
        cluster
            .double
            .requests()
            .iter()
            .any(|r| r.contains("/statefulsets/mongodb-rs/scale"))
    );
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
    assert!(
        during.iter().all(|p| !p.ready),
        "the deleted pod terminates, not ready: {during:?}"
    );

    env.wait_ready("mongodb", Duration::from_secs(10))
        .await
        .unwrap();
    let after = env.pods("mongodb").await.unwrap();
    let ready: Vec<_> = after.iter().filter(|p| p.ready).collect();
    assert_eq!(ready.len(), 1, "{after:?}");
    assert_ne!(ready[0].name, deleted, "the replacement has a new name");
    assert!(
        cluster
            .double
            .requests()
            .iter()
            .any(|r| r.contains("/deployments?") && r.contains("watch=true")),
        "waited with a watch"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_ready_times_out_with_the_counts() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-3").await;
    // The replacement of a deleted pod will never get ready (a crash-looping image).
    let never = json!({ "spec": { "template": { "metadata": { "annotations": { kube_support::NEVER_READY_ANNOTATION: "true" } } } } });
    cluster.double.patch(DEPLOYMENTS, "mongodb", never);
    env.delete_pod("mongodb").await.unwrap();
    let err = env
        .wait_ready("mongodb", Duration::from_millis(1500))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EnvError::Timeout(m) if m.contains("wait-ready mongodb: 0 of 1 replicas ready after 1.5 s")),
        "{err:?}"
    );
    assert!(
        matches!(&err, EnvError::Timeout(m) if m.contains("(Deployment/mongodb in namespace panda-system)")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn block_and_unblock_create_and_delete_the_policy() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-4").await;
    env.block_network("mongodb", BlockMode::Blackhole)
        .await
        .unwrap();

    let policy = cluster
        .double
        .get(NETWORKPOLICIES, "scenario-runner-block-mongodb")
        .expect("the policy exists");
    assert_eq!(policy["apiVersion"], "networking.k8s.io/v1");
    assert_eq!(policy["kind"], "NetworkPolicy");
    assert_eq!(policy["metadata"]["namespace"], "panda-system");
    let labels = &policy["metadata"]["labels"];
    assert_eq!(
        labels["app.kubernetes.io/managed-by"], "scenario-runner",
        "{policy}"
    );
    assert_eq!(labels[RUN_ID], "run-4", "{policy}");
    assert_eq!(labels["scenario-runner/workload"], "mongodb", "{policy}");
    let spec = policy["spec"].as_object().unwrap();
    assert_eq!(
        spec["podSelector"],
        json!({ "matchLabels": { "app": "mongodb" } })
    );
    assert_eq!(spec["policyTypes"], json!(["Ingress"]));
    assert!(
        spec.get("ingress")
            .is_none_or(|i| i.as_array().is_some_and(Vec::is_empty)),
        "no ingress rule: {policy}"
    );
    assert!(spec.get("egress").is_none(), "egress untouched: {policy}");
    let keys: Vec<&String> = spec.keys().collect();
    assert_eq!(
        keys,
        ["podSelector", "policyTypes"],
        "nothing else in the spec"
    );

    let deviations = env.deviations().await.unwrap();
    assert!(
        deviations
            .iter()
            .any(|d| d.target == "mongodb" && d.problem.contains("network blocked")),
        "{deviations:?}"
    );
    env.block_network("mongodb", BlockMode::Blackhole)
        .await
        .expect("blocking twice is a no-op");
    assert_eq!(cluster.double.list(NETWORKPOLICIES).len(), 1);

    env.unblock_network("mongodb").await.unwrap();
    assert!(cluster.double.list(NETWORKPOLICIES).is_empty());
    env.unblock_network("mongodb")
        .await
        .expect("unblocking twice is a no-op");
    assert!(env.deviations().await.unwrap().is_empty());

    let refused = env
        .block_network("mongodb", BlockMode::Refuse)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, EnvError::Unsupported(m) if m.contains("refuse mode") && m.contains("blackhole")),
        "{refused:?}"
    );
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
    let err = env
        .block_network("mongodb", BlockMode::Blackhole)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EnvError::Failed(m) if m.contains("already exists, from run someone-else")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_rbac_rule_is_a_forbidden_error_that_names_it() {
    let cluster = Cluster::start().await;
    let env = cluster.open("run-6").await;
    cluster.double.set_role(Some(backend_role().revoke(
        "apps",
        "deployments/scale",
        "patch",
    )));
    let result = env.scale("mongodb", 0).await;
    let err = result.expect_err(&format!("{:#?}", cluster.double.requests()));
    let EnvError::NotPermitted(message) = &err else {
        panic!("not NotPermitted: {err:?}")
    };
    assert!(
        message.contains(
            r#"patch deployments/scale.apps "mongodb" in namespace panda-system: forbidden"#
        ),
        "{message}"
    );
    assert!(
        message.contains(
            r#"{apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["patch"]}"#
        ),
        "{message}"
    );
    assert!(
        message.contains("cannot patch resource \"deployments/scale\" in API group \"apps\""),
        "{message}"
    );
    assert!(
        cluster.annotations("mongodb").get(ORIGINAL).is_none(),
        "a failed scale leaves no mark"
    );
    assert_eq!(
        cluster.double.get(DEPLOYMENTS, "mongodb").unwrap()["spec"]["replicas"],
        1
    );

    cluster.double.set_role(Some(backend_role().revoke(
        "networking.k8s.io",
        "networkpolicies",
        "create",
    )));
    let err = env
        .block_network("mongodb", BlockMode::Blackhole)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EnvError::NotPermitted(m) if m.contains("create networkpolicies.networking.k8s.io")),
        "{err:?}"
    );

    // A watch is only needed while the workload is not ready: right after a deletion.
    cluster
        .double
        .set_role(Some(backend_role().revoke("apps", "deployments", "watch")));
    env.delete_pod("mongodb").await.unwrap();
    let err = env
        .wait_ready("mongodb", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EnvError::NotPermitted(m) if m.contains("watch deployments.apps \"mongodb\"")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_workload_object_is_not_found_at_open() {
    let cluster = Cluster::start().await;
    let mut config = cluster.config("");
    let EnvironmentConfig::Kubernetes(kube) = &mut config else {
        unreachable!()
    };
    kube.workloads.get_mut("mongodb").unwrap().name = "mongo".into();
    let err = env::open(&config, &cluster.context("run-7", false))
        .await
        .err()
        .expect("open fails");
    let EnvError::NotFound(message) = &err else {
        panic!("not NotFound: {err:?}")
    };
    assert!(
        message.contains(r#"get deployments.apps "mongo" in namespace panda-system: not found"#),
        "{message}"
    );
    assert!(message.contains("Deployment/mongo"), "{message}");

    let env = cluster.open("run-7b").await;
    let err = env.scale("redis", 0).await.unwrap_err();
    assert!(
        matches!(&err, EnvError::NotPermitted(m) if m.contains("\"redis\" is not declared")),
        "{err:?}"
    );
}
