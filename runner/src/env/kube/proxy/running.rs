//! Running a placement: the objects created, the proxy awaited until its control API answers
//! through a port-forward, then the workload's Service re-pointed to it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::env::{EnvError, EnvResult, FaultId};

use super::super::client::Cluster;
use super::super::config::WorkloadKind;
use super::super::portforward::{Forward, Target};
use super::super::selector::Selector;
use super::super::workloads::{self, Workload};
use super::READY_TIMEOUT;
use super::control::ControlClient;
use super::placement::{self, ORIGINAL_SELECTOR_ANNOTATION, Plan};

/// One proxy in place: the port-forward to its control API and the faults it holds.
pub struct Placed {
    /// The workload's Service, re-pointed to the proxy.
    pub service: String,
    /// The proxy's control API, through `forward`.
    pub client: ControlClient,
    /// The port-forward to the proxy's control port; closed when dropped.
    pub _forward: Arc<Forward>,
    /// The faults added through it and not removed yet.
    pub faults: BTreeSet<FaultId>,
}

/// Places the proxy of `plan` (objects, readiness, control API, then the Service
/// re-pointed); on failure the caller undoes it.
pub async fn place(cluster: &Cluster, plan: &Plan) -> EnvResult<Placed> {
    let service = placement::service_selector(cluster, plan).await?;
    let plan = &placement::with_target_port(plan, &service);
    if let Some(run) = service
        .metadata
        .annotations
        .as_ref()
        .filter(|a| a.contains_key(ORIGINAL_SELECTOR_ANNOTATION))
        .map(|a| {
            a.get(super::super::RUN_ID_ANNOTATION)
                .cloned()
                .unwrap_or_default()
        })
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
    let (client, forward) = connect(cluster, &name, plan).await?;
    placement::redirect(cluster, plan, &original).await?;
    super::super::notice(format_args!(
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
async fn connect(
    cluster: &Cluster,
    name: &str,
    plan: &Plan,
) -> EnvResult<(ControlClient, Arc<Forward>)> {
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
    let forward = Arc::new(Forward::open(cluster.clone(), target).await?);
    let client = ControlClient::new(format!("http://{}", forward.local), cluster.timeout)
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
