//! The real `kubectl` against the API double for what the fault proxy's placement uses, under
//! the shipped Role: Services read, patched (merge) and deleted, the headless Service created,
//! the proxy Deployment deleted. The objects are the runner's own builders' output.

use std::collections::BTreeMap;

use scenario_runner::env::kube::proxy::placement::{Plan, direct_service, proxy_deployment};
use serde_json::json;

use crate::kube_kubectl::Kubectl;
use crate::kube_support::ApiDouble;
use crate::kube_support::store::{DEPLOYMENTS, SERVICES};

fn plan() -> Plan {
    Plan {
        workload: "mongodb".into(),
        service: "mongodb".into(),
        pod_port: 27017,
        port_name: Some("mongodb".into()),
        image: "scenario-runner:dev".into(),
        run_id: "kubectl".into(),
    }
}

fn direct() -> serde_json::Value {
    let selector = BTreeMap::from([("app".to_owned(), "mongodb".to_owned())]);
    serde_json::to_value(direct_service(&plan(), &selector)).unwrap()
}

/// MongoDB's Service, and the headless Service and proxy Deployment the runner creates for it.
pub fn add_placement_objects(double: &ApiDouble) {
    double.add_service("mongodb", &[("app", "mongodb")], 27017, 27017);
    double.create(SERVICES, direct());
    let deployment = serde_json::to_value(proxy_deployment(&plan(), "panda-system")).unwrap();
    double.create(DEPLOYMENTS, deployment);
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_reads_patches_creates_and_deletes_the_placement_objects() {
    let k = Kubectl::start().await;
    let double = &k.cluster.double;
    double.add_service("mongodb", &[("app", "mongodb")], 27017, 27017);
    let file = k.cluster.dir.path().join("direct.json");
    std::fs::write(&file, direct().to_string()).unwrap();
    let out = k
        .ok("create service", &["create", "-f", file.to_str().unwrap()])
        .await;
    assert_eq!(
        out.trim(),
        "service/scenario-runner-direct-mongodb created",
        "create -f"
    );
    // Field validation is the server's, as for NetworkPolicies: a typo is refused.
    let typo = k.cluster.dir.path().join("typo.json");
    let text = direct()
        .to_string()
        .replace("scenario-runner-direct-mongodb", "typo")
        .replace("clusterIP", "clusterIp");
    std::fs::write(&typo, text).unwrap();
    let out = k.output(&["create", "-f", typo.to_str().unwrap()]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains(r#"unknown field "spec.clusterIp""#),
        "create -f with a typo: {} {stderr}",
        out.status
    );
    assert!(double.get(SERVICES, "typo").is_none());
    let deployment = serde_json::to_value(proxy_deployment(&plan(), "panda-system")).unwrap();
    double.create(DEPLOYMENTS, deployment);

    let listed = k
        .json("get services", &["get", "services", "-o", "json"])
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    let headless = k
        .json(
            "get service",
            &[
                "get",
                "service",
                "scenario-runner-direct-mongodb",
                "-o",
                "json",
            ],
        )
        .await;
    assert_eq!(headless["spec"]["clusterIP"], "None", "{headless}");

    let repoint = r#"{"metadata":{"annotations":{"scenario-runner/original-selector":"{\"app\":\"mongodb\"}"}},"spec":{"selector":{"app":null,"scenario-runner/proxy-for":"mongodb"}}}"#;
    k.ok(
        "patch service",
        &[
            "patch", "service", "mongodb", "--type", "merge", "-p", repoint,
        ],
    )
    .await;
    let patched = double.get(SERVICES, "mongodb").unwrap();
    assert_eq!(
        patched["spec"]["selector"],
        json!({ "scenario-runner/proxy-for": "mongodb" })
    );
    assert_eq!(
        patched["metadata"]["annotations"]["scenario-runner/original-selector"],
        r#"{"app":"mongodb"}"#
    );

    k.ok(
        "delete deployment",
        &["delete", "deployment", "scenario-runner-proxy-mongodb"],
    )
    .await;
    k.ok(
        "delete service",
        &["delete", "service", "scenario-runner-direct-mongodb"],
    )
    .await;
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
