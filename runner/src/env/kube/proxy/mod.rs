//! Network faults on Kubernetes through the same fault proxy as the local environment, placed
//! by the runner in front of a workload on its first fault and removed with its last one
//! ([`placement`]), driven over its control API ([`control`]) through a port-forward.
//!
//! Before any placement, a SelfSubjectAccessReview per rule of [`NEEDED`] checks the Role: a
//! fault where a rule is missing is `unsupported`, with the rule named.

pub mod control;
mod leftovers;
pub mod placement;
mod running;
mod undo;

pub use leftovers::{ProxyObject, Redirect, deviations, proxy_objects, redirects};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::PostParams;

use crate::env::{EnvError, EnvResult, Fault, FaultId};

use self::control::ControlError;
use self::placement::Plan;
use self::running::Placed;
use super::client::Cluster;
use super::config::KubeConfig;
use super::rbac::{self, Rule};

/// Every rule a placement, its control and its undoing call.
pub const NEEDED: &[Rule] = &[
    rbac::GET_SERVICE,
    rbac::PATCH_SERVICE,
    rbac::CREATE_SERVICE,
    rbac::DELETE_SERVICE,
    rbac::CREATE_DEPLOYMENT,
    rbac::DELETE_DEPLOYMENT,
    rbac::GET_DEPLOYMENT,
    rbac::LIST_DEPLOYMENTS,
    rbac::WATCH_DEPLOYMENTS,
    rbac::GET_POD,
    rbac::LIST_PODS,
    rbac::GET_POD_PORTFORWARD,
    rbac::CREATE_POD_PORTFORWARD,
];

/// How long a placed proxy may take to become ready and answer its control API.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The rules of [`NEEDED`] the Role lacks, by SelfSubjectAccessReview; empty when all are
/// granted. A review the API server does not answer counts as granted: a 403 will then name
/// the rule.
pub async fn missing_rules(cluster: &Cluster) -> Vec<Rule> {
    let api = kube::Api::<SelfSubjectAccessReview>::all(cluster.client.clone());
    let mut missing = Vec::new();
    for rule in NEEDED {
        let (resource, subresource) = match rule.resource().split_once('/') {
            Some((r, s)) => (r, Some(s.to_owned())),
            None => (rule.resource(), None),
        };
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(cluster.namespace.clone()),
                    verb: Some(rule.verb().to_owned()),
                    group: Some(rule.group().to_owned()),
                    resource: Some(resource.to_owned()),
                    subresource,
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let answer =
            tokio::time::timeout(cluster.timeout, api.create(&PostParams::default(), &review))
                .await;
        match answer {
            Ok(Ok(review)) if !review.status.as_ref().is_some_and(|s| s.allowed) => {
                missing.push(*rule)
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::debug!("SelfSubjectAccessReview of {rule}: {e}"),
            Err(_) => tracing::debug!("SelfSubjectAccessReview of {rule}: no answer"),
        }
    }
    missing
}

/// The fault proxies of one run, by workload.
pub struct Proxies {
    cluster: Cluster,
    image: String,
    run_id: String,
    /// The workload's one Service and its container port, by workload key.
    services: BTreeMap<String, Result<(String, u16), String>>,
    /// Why faults cannot be placed at all (missing rules); `None` when they can.
    refusal: Option<String>,
    placed: Arc<tokio::sync::Mutex<BTreeMap<String, Placed>>>,
}

impl Proxies {
    /// The proxies of a run with `config`; `missing` is [`missing_rules`]'s answer.
    pub fn new(cluster: Cluster, config: &KubeConfig, run_id: &str, missing: &[Rule]) -> Self {
        let services = config
            .workloads
            .keys()
            .map(|key| {
                let mine: Vec<&String> = config
                    .services
                    .iter()
                    .filter(|(_, s)| &s.workload == key)
                    .map(|(k, _)| k)
                    .collect();
                let found = match mine.as_slice() {
                    [one] => Ok((
                        config.service_name(one).to_owned(),
                        config.services[*one].pod_port(),
                    )),
                    [] => Err(format!(
                        "no service of the environment names workload {key}"
                    )),
                    many => Err(format!(
                        "services {} all name workload {key}; the proxy stands in front of one",
                        many.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                (key.clone(), found)
            })
            .collect();
        let refusal = (!missing.is_empty()).then(|| {
            let rules: Vec<String> = missing.iter().map(Rule::as_role_rule).collect();
            format!(
                "the runner's Role lacks {} (see deploy/rbac.yaml), which placing the fault \
                 proxy needs",
                rules.join(", ")
            )
        });
        Self {
            cluster,
            image: config.proxy_image.clone(),
            run_id: run_id.to_owned(),
            services,
            refusal,
            placed: Arc::default(),
        }
    }

    /// Whether faults can be placed (the Role grants every rule of [`NEEDED`]).
    pub fn available(&self) -> bool {
        self.refusal.is_none()
    }

    /// Adds `fault` under `id` in front of `workload`, placing the proxy on its first fault.
    pub async fn add(&self, workload: &str, id: FaultId, fault: &Fault) -> EnvResult<()> {
        let unsupported = |why: &str| {
            EnvError::Unsupported(format!(
                "a {} fault in front of {workload}: {why}",
                fault.kind.name()
            ))
        };
        if let Some(why) = &self.refusal {
            return Err(unsupported(why));
        }
        let (service, pod_port) = match self.services.get(workload) {
            Some(Ok(found)) => found.clone(),
            Some(Err(why)) => return Err(unsupported(why)),
            None => return Err(unsupported("the workload is not declared")),
        };
        let plan = Plan {
            workload: workload.to_owned(),
            service,
            pod_port,
            port_name: None,
            image: self.image.clone(),
            run_id: self.run_id.clone(),
        };
        // In a task of its own, so that a caller giving up (the host's deadline) cannot leave a
        // half-made placement: it completes or is undone, and is recorded either way.
        let (cluster, placed) = (self.cluster.clone(), self.placed.clone());
        tokio::spawn(async move { ensure_placed(&cluster, &placed, &plan).await })
            .await
            .map_err(|e| {
                EnvError::Failed(format!("placing the fault proxy of {workload}: {e}"))
            })??;
        let mut placed = self.placed.lock().await;
        let Some(entry) = placed.get_mut(workload) else {
            return Err(EnvError::Failed(format!(
                "the fault proxy of {workload} was removed while fault {id} was being added"
            )));
        };
        if let Err(e) = entry.client.add(id, fault).await {
            let e = match e {
                ControlError::Refused { status: 400, .. } => EnvError::Failed(format!(
                    "add fault {id} in front of {workload}: {e} (the proxy's image may be older than \
                 the runner)"
                )),
                e => EnvError::Failed(format!("add fault {id} in front of {workload}: {e}")),
            };
            if entry.faults.is_empty() {
                let service = entry.service.clone();
                placed.remove(workload);
                placement::undo(&self.cluster, workload, &service, &self.run_id).await?;
            }
            return Err(e);
        }
        entry.faults.insert(id);
        Ok(())
    }

    /// Removes fault `id`; the proxy is removed with the workload's last fault.
    pub async fn remove(&self, workload: &str, id: FaultId) -> EnvResult<()> {
        let mut placed = self.placed.lock().await;
        let Some(entry) = placed.get_mut(workload) else {
            return Err(EnvError::NotFound(format!(
                "no fault {id} is in front of {workload}"
            )));
        };
        if !entry.faults.contains(&id) {
            if entry.faults.is_empty() {
                // A placement whose first fault never arrived (its caller gave up): undone.
                let service = entry.service.clone();
                placed.remove(workload);
                placement::undo(&self.cluster, workload, &service, &self.run_id).await?;
            }
            return Err(EnvError::NotFound(format!(
                "no fault {id} is in front of {workload}"
            )));
        }
        match entry.client.remove(id).await {
            // The proxy's pod was replaced and lost its table: the fault is gone all the same.
            Ok(()) | Err(ControlError::Refused { status: 404, .. }) => {}
            Err(e) => {
                super::notice(format_args!(
                    "remove fault {id} from {workload}: {e}; the proxy is removed anyway"
                ));
                entry.faults.clear();
            }
        }
        entry.faults.remove(&id);
        if entry.faults.is_empty() {
            let service = entry.service.clone();
            placed.remove(workload);
            placement::undo(&self.cluster, workload, &service, &self.run_id).await?;
        }
        Ok(())
    }

    /// Removes every proxy still in place (the end of a run).
    pub async fn undo_all(&self) {
        let mut placed = self.placed.lock().await;
        for (workload, entry) in std::mem::take(&mut *placed) {
            if let Err(e) =
                placement::undo(&self.cluster, &workload, &entry.service, &self.run_id).await
            {
                super::notice(format_args!("removing the fault proxy of {workload}: {e}"));
            }
        }
    }
}

/// Places the proxy of `plan` unless it is in place; a failed placement is undone.
async fn ensure_placed(
    cluster: &Cluster,
    placed: &tokio::sync::Mutex<BTreeMap<String, Placed>>,
    plan: &Plan,
) -> EnvResult<()> {
    let mut placed = placed.lock().await;
    if placed.contains_key(&plan.workload) {
        return Ok(());
    }
    match running::place(cluster, plan).await {
        Ok(new) => {
            placed.insert(plan.workload.clone(), new);
            Ok(())
        }
        Err(e) => {
            if let Err(undo) =
                placement::undo(cluster, &plan.workload, &plan.service, &plan.run_id).await
            {
                super::notice(format_args!("undoing a failed placement: {undo}"));
            }
            Err(e)
        }
    }
}
