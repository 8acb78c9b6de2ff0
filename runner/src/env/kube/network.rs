//! Network blocks as NetworkPolicies: one per blocked workload, selecting its pods and
//! denying all ingress (`policyTypes: [Ingress]` and no ingress rule), labelled with the runner
//! and the run id so that `cleanup` finds it after a crash.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{DeleteParams, ListParams, PostParams};

use crate::env::{EnvError, EnvResult};

use super::client::Cluster;
use super::rbac;
use super::workloads::Workload;
use super::{MANAGED_BY, MANAGED_BY_LABEL, RUN_ID_ANNOTATION, WORKLOAD_LABEL};

/// The NetworkPolicy name that blocks `workload`.
pub fn policy_name(workload: &Workload) -> String {
    let mut name = format!(
        "scenario-runner-block-{}",
        workload.key.to_ascii_lowercase().replace('_', "-")
    );
    name.truncate(253);
    name
}

/// The selector of every NetworkPolicy the runner creates.
pub fn managed_selector() -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY}")
}

/// The policy that cuts `workload` off: its pods, ingress only, no rule allowing anything.
pub fn deny_ingress_policy(workload: &Workload, run_id: &str) -> NetworkPolicy {
    let labels = BTreeMap::from([
        (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
        (RUN_ID_ANNOTATION.to_owned(), run_id.to_owned()),
        (WORKLOAD_LABEL.to_owned(), super::label_value(&workload.key)),
    ]);
    let annotations = BTreeMap::from([(
        "scenario-runner/purpose".to_owned(),
        format!(
            "blackholes {} for an outage scenario; `scenario-runner cleanup` removes it",
            workload.object()
        ),
    )]);
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(policy_name(workload)),
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(workload.selector.labels().clone()),
                match_expressions: None,
            }),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: None,
            egress: None,
        }),
    }
}

/// Creates the blocking policy. Blocking an already blocked workload is a no-op when the
/// policy is this run's, and an error when another run left it.
pub async fn block(cluster: &Cluster, workload: &Workload, run_id: &str) -> EnvResult<()> {
    let api = cluster.api::<NetworkPolicy>();
    let policy = deny_ingress_policy(workload, run_id);
    let name = policy_name(workload);
    let call = cluster.collection(rbac::CREATE_NETWORKPOLICY);
    match call
        .try_run(cluster.timeout, api.create(&PostParams::default(), &policy))
        .await?
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let get = cluster.on(rbac::GET_NETWORKPOLICY, &name);
            let existing = get.run(cluster.timeout, api.get(&name)).await?;
            let owner = existing
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(RUN_ID_ANNOTATION))
                .cloned();
            if owner.as_deref() == Some(run_id) {
                Ok(())
            } else {
                Err(EnvError::Failed(format!(
                    "NetworkPolicy {name} in namespace {} already exists, from {}; if that run is over, \
                     run `scenario-runner cleanup --env NAME`",
                    cluster.namespace,
                    owner.map_or_else(|| "outside the runner".to_owned(), |r| format!("run {r}"))
                )))
            }
        }
        Err(e) => Err(call.error(e)),
    }
}

/// Deletes the blocking policy of `workload`; a no-op when there is none.
pub async fn unblock(cluster: &Cluster, workload: &Workload) -> EnvResult<()> {
    delete(cluster, &policy_name(workload)).await
}

/// Deletes the policy `name`; a no-op when it is gone.
pub async fn delete(cluster: &Cluster, name: &str) -> EnvResult<()> {
    let call = cluster.on(rbac::DELETE_NETWORKPOLICY, name);
    let api = cluster.api::<NetworkPolicy>();
    match call
        .try_run(cluster.timeout, api.delete(name, &DeleteParams::default()))
        .await?
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(call.error(e)),
    }
}

/// A runner-labelled NetworkPolicy that exists now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The policy's name.
    pub name: String,
    /// The workload key it blocks.
    pub workload: String,
    /// The run that created it.
    pub run_id: String,
}

/// Every runner-labelled NetworkPolicy in the namespace.
pub async fn blocks(cluster: &Cluster) -> EnvResult<Vec<Block>> {
    let call = cluster.collection(rbac::LIST_NETWORKPOLICIES);
    let params = ListParams::default().labels(&managed_selector());
    let list = call
        .run(
            cluster.timeout,
            cluster.api::<NetworkPolicy>().list(&params),
        )
        .await?;
    Ok(list
        .items
        .into_iter()
        .map(|p| {
            let label = |k: &str| {
                p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(k))
                    .cloned()
                    .unwrap_or_default()
            };
            Block {
                name: p.metadata.name.clone().unwrap_or_default(),
                workload: label(WORKLOAD_LABEL),
                run_id: label(RUN_ID_ANNOTATION),
            }
        })
        .collect())
}

/// The message of `block_network(Refuse)`.
pub fn refuse_unsupported(workload: &str) -> EnvError {
    EnvError::Unsupported(format!(
        "block-network {workload} in refuse mode: Kubernetes NetworkPolicies drop packets, they \
         cannot reset connections, so only blackhole mode is supported on the kubernetes \
         environment; use blackhole, or skip when the capability block-refuse is missing"
    ))
}
