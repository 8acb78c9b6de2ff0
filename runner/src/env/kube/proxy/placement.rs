//! The objects of a fault proxy placed in front of a workload, and their undoing:
//!
//! 1. a headless Service `scenario-runner-direct-<workload>` selecting the workload's own pods
//!    (the Service's original selector), through which the proxy reaches them;
//! 2. a Deployment `scenario-runner-proxy-<workload>` running `scenario-runner proxy` from the
//!    runner's image, listening on the Service's target port;
//! 3. the workload's Service, annotated with its original selector (JSON) and re-pointed to the
//!    proxy's pods.
//!
//! Undoing restores the selector from the annotation and deletes the other two; `cleanup` does
//! the same after a crash, from the annotations and labels alone ([`super::undo`]).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

pub use super::undo::{corrupt, delete, parse_original, restore, undo};

use crate::env::{EnvError, EnvResult};

use super::super::client::Cluster;
use super::super::rbac::{self, Rule};
use super::super::{MANAGED_BY, MANAGED_BY_LABEL, RUN_ID_ANNOTATION};

/// The port of the proxy's control API in its pod.
pub const CONTROL_PORT: u16 = 8475;
/// The annotation on a re-pointed Service: its original selector, as a JSON object.
pub const ORIGINAL_SELECTOR_ANNOTATION: &str = "scenario-runner/original-selector";
/// The label of the proxy's objects and pods: the workload it stands in front of.
pub const PROXY_FOR_LABEL: &str = "scenario-runner/proxy-for";

/// What one placement puts where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The workload key, such as `mongodb`.
    pub workload: String,
    /// The workload's Service, whose selector is re-pointed.
    pub service: String,
    /// The container port behind the Service: the proxy listens there.
    pub pod_port: u16,
    /// The Service's `targetPort` when it is a name: the proxy's container port carries it.
    pub port_name: Option<String>,
    /// The proxy's image.
    pub image: String,
    /// This run's id, as a label and annotation.
    pub run_id: String,
}

fn dns_name(key: &str) -> String {
    super::super::label_value(&key.to_ascii_lowercase().replace(['_', '.'], "-"))
}

/// `scenario-runner-proxy-<workload>`: the proxy's Deployment.
pub fn proxy_name(workload: &str) -> String {
    format!("scenario-runner-proxy-{}", dns_name(workload))
}

/// `scenario-runner-direct-<workload>`: the headless Service to the workload's own pods.
pub fn direct_name(workload: &str) -> String {
    format!("scenario-runner-direct-{}", dns_name(workload))
}

/// The labels of the proxy's pods, which the re-pointed Service selects.
pub fn proxy_labels(workload: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
        (
            PROXY_FOR_LABEL.to_owned(),
            super::super::label_value(workload),
        ),
    ])
}

fn object_labels(plan: &Plan) -> Value {
    json!({
        MANAGED_BY_LABEL: MANAGED_BY,
        PROXY_FOR_LABEL: super::super::label_value(&plan.workload),
        RUN_ID_ANNOTATION: plan.run_id,
    })
}

/// The headless Service selecting `selector` (the workload Service's original one).
pub fn direct_service(plan: &Plan, selector: &BTreeMap<String, String>) -> Service {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": { "name": direct_name(&plan.workload), "labels": object_labels(plan) },
        "spec": {
            "clusterIP": "None",
            "selector": selector,
            "ports": [{
                "name": "proxied", "port": plan.pod_port,
                "targetPort": plan.port_name.as_ref().map_or(json!(plan.pod_port), |n| json!(n)),
            }],
        },
    }))
    .expect("a Service")
}

/// The proxy's Deployment: one pod of `scenario-runner proxy`, ready once its control API is.
pub fn proxy_deployment(plan: &Plan, namespace: &str) -> Deployment {
    let upstream = format!(
        "{}.{namespace}.svc:{}",
        direct_name(&plan.workload),
        plan.pod_port
    );
    let pod_labels = proxy_labels(&plan.workload);
    let port_name = plan.port_name.as_deref().unwrap_or("proxied");
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": proxy_name(&plan.workload), "labels": object_labels(plan) },
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": pod_labels },
            "template": {
                "metadata": { "labels": pod_labels },
                "spec": {
                  // What the namespace's `restricted` Pod Security level asks for.
                  "securityContext": {
                    "runAsNonRoot": true, "runAsUser": 10001, "runAsGroup": 10001,
                    "seccompProfile": { "type": "RuntimeDefault" },
                  },
                  "containers": [{
                    "name": "fault-proxy",
                    "image": plan.image,
                    "imagePullPolicy": "IfNotPresent",
                    "args": ["proxy",
                             "--listen", format!("0.0.0.0:{}", plan.pod_port),
                             "--upstream", upstream,
                             "--control", format!("0.0.0.0:{CONTROL_PORT}")],
                    "ports": [{ "name": port_name, "containerPort": plan.pod_port },
                              { "name": "control", "containerPort": CONTROL_PORT }],
                    "readinessProbe": { "httpGet": { "path": "/health", "port": CONTROL_PORT } },
                    "resources": { "requests": { "cpu": "50m", "memory": "32Mi" },
                                   "limits": { "memory": "256Mi" } },
                    "securityContext": {
                      "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                      "capabilities": { "drop": ["ALL"] },
                    },
                }]},
            },
        },
    }))
    .expect("a Deployment")
}

/// `plan` with the port of `service`'s `targetPort`: a number is where the proxy listens, a
/// name is given to the proxy's container port (the Service resolves it on the new pods).
pub fn with_target_port(plan: &Plan, service: &Service) -> Plan {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let target = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .and_then(|p| p.first())
        .and_then(|p| p.target_port.clone());
    let mut plan = plan.clone();
    match target {
        Some(IntOrString::Int(n)) if (1..=65535).contains(&n) => plan.pod_port = n as u16,
        Some(IntOrString::String(name)) if name.parse::<u16>().is_err() => {
            plan.port_name = Some(name)
        }
        _ => {}
    }
    plan
}

/// Reads the workload's Service: its selector, refusing what the proxy cannot stand in for.
pub async fn service_selector(cluster: &Cluster, plan: &Plan) -> EnvResult<Service> {
    let call = cluster.on(rbac::GET_SERVICE, &plan.service);
    let service = call
        .run(cluster.timeout, cluster.api::<Service>().get(&plan.service))
        .await?;
    let ports = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .map_or(0, Vec::len);
    if ports != 1 {
        return Err(EnvError::Unsupported(format!(
            "a fault in front of {}: Service {} in {} has {ports} ports; the fault proxy \
             forwards one",
            plan.workload, plan.service, cluster.namespace
        )));
    }
    Ok(service)
}

/// Creates `object` through `create`; one already there from this run is taken as created.
async fn create_owned<K>(cluster: &Cluster, rule: Rule, object: &K, run_id: &str) -> EnvResult<()>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    let api = cluster.api::<K>();
    let name = object.meta().name.clone().unwrap_or_default();
    let call = cluster.collection(rule);
    match call
        .try_run(cluster.timeout, api.create(&PostParams::default(), object))
        .await?
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let existing = cluster
                .on(rule, &name)
                .run(cluster.timeout, api.get(&name))
                .await?;
            let owner = existing
                .meta()
                .labels
                .as_ref()
                .and_then(|l| l.get(RUN_ID_ANNOTATION));
            if owner.map(String::as_str) == Some(run_id) {
                Ok(())
            } else {
                Err(EnvError::Failed(format!(
                    "{} {name} in {} already exists, from {}; if that run is over, run \
                     `scenario-runner cleanup --env NAME`",
                    K::kind(&Default::default()),
                    cluster.namespace,
                    owner.map_or_else(|| "outside the runner".to_owned(), |r| format!("run {r}"))
                )))
            }
        }
        Err(e) => Err(call.error(e)),
    }
}

/// Creates the headless Service and the proxy's Deployment (step 1 and 2).
pub async fn create_objects(
    cluster: &Cluster,
    plan: &Plan,
    selector: &BTreeMap<String, String>,
) -> EnvResult<()> {
    let direct = direct_service(plan, selector);
    create_owned(cluster, rbac::CREATE_SERVICE, &direct, &plan.run_id).await?;
    let deployment = proxy_deployment(plan, &cluster.namespace);
    create_owned(cluster, rbac::CREATE_DEPLOYMENT, &deployment, &plan.run_id).await
}

/// Re-points the Service to the proxy's pods, after recording its original selector (step 3).
pub async fn redirect(
    cluster: &Cluster,
    plan: &Plan,
    original: &BTreeMap<String, String>,
) -> EnvResult<()> {
    let mut selector: serde_json::Map<String, Value> =
        original.keys().map(|k| (k.clone(), Value::Null)).collect();
    for (k, v) in proxy_labels(&plan.workload) {
        selector.insert(k, json!(v));
    }
    let patch = json!({
        "metadata": { "annotations": {
            ORIGINAL_SELECTOR_ANNOTATION: serde_json::to_string(original).expect("a map"),
            RUN_ID_ANNOTATION: plan.run_id,
        }},
        "spec": { "selector": selector },
    });
    patch_service(cluster, &plan.service, &patch).await
}

/// Merge-patches Service `name`.
pub(super) async fn patch_service(cluster: &Cluster, name: &str, patch: &Value) -> EnvResult<()> {
    cluster
        .on(rbac::PATCH_SERVICE, name)
        .run(
            cluster.timeout,
            cluster
                .api::<Service>()
                .patch(name, &PatchParams::default(), &Patch::Merge(patch)),
        )
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            workload: "mongodb".into(),
            service: "mongodb".into(),
            pod_port: 27017,
            port_name: None,
            image: "scenario-runner:dev".into(),
            run_id: "r1".into(),
        }
    }

    #[test]
    fn a_named_target_port_names_the_proxy_port_and_a_number_moves_it() {
        let service = |target: serde_json::Value| -> Service {
            serde_json::from_value(json!({
                "spec": { "ports": [{ "port": 27017, "targetPort": target }] }
            }))
            .unwrap()
        };
        let named = with_target_port(&plan(), &service(json!("mongodb")));
        assert_eq!(named.port_name.as_deref(), Some("mongodb"));
        let value = serde_json::to_value(proxy_deployment(&named, "ns")).unwrap();
        let port = &value["spec"]["template"]["spec"]["containers"][0]["ports"][0];
        assert_eq!(port["name"], "mongodb");
        assert_eq!(port["containerPort"], 27017);
        let direct = serde_json::to_value(direct_service(&named, &BTreeMap::new())).unwrap();
        assert_eq!(direct["spec"]["ports"][0]["targetPort"], "mongodb");
        let moved = with_target_port(&plan(), &service(json!(27018)));
        assert_eq!((moved.pod_port, moved.port_name), (27018, None));
    }

    #[test]
    fn the_proxy_runs_the_subcommand_to_the_headless_service() {
        let deployment = proxy_deployment(&plan(), "panda-system");
        let value = serde_json::to_value(&deployment).unwrap();
        let args = &value["spec"]["template"]["spec"]["containers"][0]["args"];
        assert_eq!(args[0], "proxy");
        assert_eq!(
            args[4],
            "scenario-runner-direct-mongodb.panda-system.svc:27017"
        );
        assert_eq!(
            value["spec"]["selector"]["matchLabels"][PROXY_FOR_LABEL],
            "mongodb"
        );
        let direct = serde_json::to_value(direct_service(
            &plan(),
            &BTreeMap::from([("app".into(), "mongodb".into())]),
        ))
        .unwrap();
        assert_eq!(direct["spec"]["clusterIP"], "None");
        assert_eq!(direct["spec"]["selector"]["app"], "mongodb");
    }

    #[test]
    fn a_corrupt_or_empty_original_selector_is_refused() {
        assert_eq!(
            parse_original(r#"{"app":"mongodb"}"#).unwrap()["app"],
            "mongodb"
        );
        assert!(parse_original("app=mongodb").is_err());
        assert!(parse_original("{}").unwrap_err().contains("empty"));
        assert!(parse_original(r#"{"app": 3}"#).is_err());
    }
}
