//! Network faults on Kubernetes through the same fault proxy as the local environment, placed
//! by the runner in front of a workload on its first fault and removed with its last one
//! ([`placement`]), driven over its control API ([`control`]) through a port-forward.
//!
//! Before any placement, a SelfSubjectAccessReview per rule of [`NEEDED`] checks the Role: a
//! fault where a rule is missing is `unsupported`, with the rule named.

pub mod control;
pub mod placement;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Service;
use kube::api::{ListParams, PostParams};

use crate::env::{EnvError, EnvResult, Fault, FaultId};

use self::control::{ControlClient, ControlError};
use self::placement::{ORIGINAL_SELECTOR_ANNOTATION, Plan};
use super::client::Cluster;
use super::config::{KubeConfig, WorkloadKind};
use super::portforward::{Forward, Target};
use super::rbac::{self, Rule};
use super::selector::Selector;
use super::workloads::{self, Workload};

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

/// One proxy in place: the port-forward to its control API and the faults it holds.
struct Placed {
    service: String,
    client: ControlClient,
    _forward: Arc<Forward>,
    faults: BTreeSet<FaultId>,
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
    placed: tokio::sync::Mutex<BTreeMap<String, Placed>>,
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
            placed: tokio::sync::Mutex::new(BTreeMap::new()),
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
        let mut placed = self.placed.lock().await;
        if !placed.contains_key(workload) {
            let plan = Plan {
                workload: workload.to_owned(),
                service,
                pod_port,
                image: self.image.clone(),
                run_id: self.run_id.clone(),
            };
            let new = match self.place(&plan).await {
                Ok(new) => new,
                Err(e) => {
                    if let Err(undo) = placement::undo(&self.cluster, workload, &plan.service).await
                    {
                        super::notice(format_args!("undoing a failed placement: {undo}"));
                    }
                    return Err(e);
                }
            };
            placed.insert(workload.to_owned(), new);
        }
        let entry = placed.get_mut(workload).expect("placed above");
        entry.client.add(id, fault).await.map_err(|e| match e {
            ControlError::Refused { status: 400, .. } => EnvError::Failed(format!(
                "add fault {id} in front of {workload}: {e} (the proxy's image may be older than \
                 the runner)"
            )),
            e => EnvError::Failed(format!("add fault {id} in front of {workload}: {e}")),
        })?;
        entry.faults.insert(id);
        Ok(())
    }

    /// Removes fault `id`; the proxy is removed with the workload's last fault.
    pub async fn remove(&self, workload: &str, id: FaultId) -> EnvResult<()> {
        let mut placed = self.placed.lock().await;
        let Some(entry) = placed.get_mut(workload).filter(|p| p.faults.contains(&id)) else {
            return Err(EnvError::NotFound(format!(
                "no fault {id} is in front of {workload}"
            )));
        };
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
            placement::undo(&self.cluster, workload, &service).await?;
        }
        Ok(())
    }

    /// Removes every proxy still in place (the end of a run).
    pub async fn undo_all(&self) {
        let mut placed = self.placed.lock().await;
        for (workload, entry) in std::mem::take(&mut *placed) {
            if let Err(e) = placement::undo(&self.cluster, &workload, &entry.service).await {
                super::notice(format_args!("removing the fault proxy of {workload}: {e}"));
            }
        }
    }

    async fn place(&self, plan: &Plan) -> EnvResult<Placed> {
        let cluster = &self.cluster;
        let service = placement::service_selector(cluster, plan).await?;
        if let Some(run) = service
            .metadata
            .annotations
            .as_ref()
            .filter(|a| a.contains_key(ORIGINAL_SELECTOR_ANNOTATION))
            .map(|a| a.get(super::RUN_ID_ANNOTATION).cloned().unwrap_or_default())
        {
            return Err(EnvError::Failed(format!(
                "Service {} in {} is already re-pointed to a fault proxy by run {run}; if that \
                 run is over, run `scenario-runner cleanup --env NAME`",
                plan.service, cluster.namespace
            )));
        }
        let original = service.spec.and_then(|s| s.selector).unwrap_or_default();
        if original.is_empty() {
            return Err(EnvError::Unsupported(format!(
                "a fault in front of {}: Service {} has no selector (its endpoints are managed \
                 by hand), so the runner cannot re-point it",
                plan.workload, plan.service
            )));
        }
        placement::create_objects(cluster, plan, &original).await?;
        let name = placement::proxy_name(&plan.workload);
        let last = std::sync::Mutex::new(None);
        let ready = workloads::await_object_ready(cluster, WorkloadKind::Deployment, &name, &last);
        tokio::time::timeout(READY_TIMEOUT, ready)
            .await
            .map_err(|_| {
                EnvError::Timeout(format!(
                    "the fault proxy Deployment/{name} in {} was not ready within {} s; check \
                     that its image {} can be pulled (`kubectl describe deployment {name}`)",
                    cluster.namespace,
                    READY_TIMEOUT.as_secs(),
                    plan.image
                ))
            })??;
        let (client, forward) = self.connect(&name, plan).await?;
        placement::redirect(cluster, plan, &original).await?;
        super::notice(format_args!(
            "fault proxy Deployment/{name} placed in front of {}: Service {} re-pointed to it",
            plan.workload, plan.service
        ));
        Ok(Placed {
            service: plan.service.clone(),
            client,
            _forward: forward,
            faults: BTreeSet::new(),
        })
    }

    /// A port-forward to the proxy's control API, and a client that answers through it.
    async fn connect(&self, name: &str, plan: &Plan) -> EnvResult<(ControlClient, Arc<Forward>)> {
        let labels = placement::proxy_labels(&plan.workload);
        let text: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let selector = Selector::parse(&text.join(",")).map_err(EnvError::Failed)?;
        let target = Target {
            workload: Workload {
                key: name.to_owned(),
                kind: WorkloadKind::Deployment,
                name: name.to_owned(),
                selector,
            },
            service: name.to_owned(),
            service_port: placement::CONTROL_PORT,
            pod_port: placement::CONTROL_PORT,
        };
        let forward = Arc::new(Forward::open(self.cluster.clone(), target).await?);
        let client = ControlClient::new(format!("http://{}", forward.local), self.cluster.timeout)
            .map_err(|e| EnvError::Failed(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tick.tick().await;
            match client.health().await {
                Ok(()) => return Ok((client, forward)),
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(EnvError::Timeout(format!(
                        "the fault proxy {name}'s control API did not answer within {} s: {e}",
                        READY_TIMEOUT.as_secs()
                    )));
                }
                Err(_) => {}
            }
        }
    }
}

/// A Service an earlier run re-pointed to a fault proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The Service's name.
    pub service: String,
    /// Its original selector, or why the annotation cannot be read.
    pub original: Result<BTreeMap<String, String>, String>,
    /// The run that re-pointed it.
    pub run_id: String,
}

/// Every Service carrying the original-selector annotation.
pub async fn redirects(cluster: &Cluster) -> EnvResult<Vec<Redirect>> {
    let list = cluster
        .collection(rbac::LIST_SERVICES)
        .run(
            cluster.timeout,
            cluster.api::<Service>().list(&ListParams::default()),
        )
        .await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|s| {
            let annotations = s.metadata.annotations?;
            let text = annotations.get(ORIGINAL_SELECTOR_ANNOTATION)?;
            Some(Redirect {
                service: s.metadata.name.unwrap_or_default(),
                original: placement::parse_original(text),
                run_id: annotations
                    .get(super::RUN_ID_ANNOTATION)
                    .cloned()
                    .unwrap_or_default(),
            })
        })
        .collect())
}

/// A fault proxy's Deployment or headless Service that exists now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyObject {
    /// `Deployment` or `Service`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// The workload it stands in front of, by its label.
    pub workload: String,
    /// The run that created it.
    pub run_id: String,
}

/// Every runner-labelled object carrying the proxy-for label: proxies' Deployments and
/// headless Services.
pub async fn proxy_objects(cluster: &Cluster) -> EnvResult<Vec<ProxyObject>> {
    let params = ListParams::default().labels(&super::network::managed_selector());
    let services = cluster
        .collection(rbac::LIST_SERVICES)
        .run(cluster.timeout, cluster.api::<Service>().list(&params))
        .await?;
    let deployments = cluster
        .collection(rbac::LIST_DEPLOYMENTS)
        .run(
            cluster.timeout,
            cluster
                .api::<k8s_openapi::api::apps::v1::Deployment>()
                .list(&params),
        )
        .await?;
    let object = |kind: &'static str, meta: &kube::api::ObjectMeta| {
        let labels = meta.labels.as_ref()?;
        Some(ProxyObject {
            kind,
            name: meta.name.clone().unwrap_or_default(),
            workload: labels.get(placement::PROXY_FOR_LABEL)?.clone(),
            run_id: labels
                .get(super::RUN_ID_ANNOTATION)
                .cloned()
                .unwrap_or_default(),
        })
    };
    Ok(deployments
        .items
        .iter()
        .filter_map(|d| object("Deployment", &d.metadata))
        .chain(
            services
                .items
                .iter()
                .filter_map(|s| object("Service", &s.metadata)),
        )
        .collect())
}
