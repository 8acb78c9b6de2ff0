//! The Kubernetes environment, through kube-rs: the same scenarios against a real cluster.
//!
//! - `scale` patches the `/scale` subresource, after recording the original replica count in
//!   the object's annotations so that a later run can restore it after a crash;
//! - `delete_pod` deletes the oldest ready pod; `wait_ready` watches (no sleeps);
//! - `block_network` creates a NetworkPolicy denying all ingress to the workload's pods;
//! - `add_fault` places the fault proxy in front of the workload ([`proxy`]): a proxy
//!   Deployment, a headless Service to the workload's pods, and the workload's Service
//!   re-pointed to the proxy; the workload's last `remove_fault` undoes all three;
//! - services are reached by cluster DNS in a pod, else through port-forwards the runner opens;
//! - `memory` reads the metrics API where it is served;
//! - `open` refuses to start while an earlier run's changes remain, unless asked to restore.
//!
//! Every API access is one of the rules of [`rbac`]; `deploy/rbac.yaml` grants exactly those.

mod cleanup;
mod client;
mod config;
mod errors;
mod metrics;
mod network;
mod pods;
mod portforward;
mod probe;
pub mod proxy;
pub mod rbac;
mod selector;
mod services;
mod workloads;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use self::client::Cluster;
pub use self::config::{
    KubeConfig, ProbeProtocol, ServiceAccess, ServiceSpec, WorkloadKind, WorkloadSpec,
};
use self::metrics::Availability;
pub use self::network::deny_ingress_policy;
use self::proxy::Proxies;
use self::selector::Selector;
use self::services::Services;
use self::workloads::Workload;
use super::{
    BlockMode, Capabilities, Deviation, EnvError, EnvResult, Environment, EnvironmentInfo, Fault,
    FaultId, OpenContext, Pod, ProbeResult,
};

/// The label every object the runner creates carries, with [`MANAGED_BY`].
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "scenario-runner";
/// The run id, as a label on NetworkPolicies and an annotation on scaled objects.
pub const RUN_ID_ANNOTATION: &str = "scenario-runner/run-id";
/// The replica count before a run changed it, as an annotation on the scaled object.
pub const ORIGINAL_REPLICAS_ANNOTATION: &str = "scenario-runner/original-replicas";
/// The workload a NetworkPolicy blocks, as a label.
pub const WORKLOAD_LABEL: &str = "scenario-runner/workload";

/// `text` as a valid label value: other characters become `-`, at most 63 characters.
pub fn label_value(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut value: String = mapped.chars().take(63).collect();
    while value.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        value.pop();
    }
    value
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// Tells the person running the runner, on stderr, what the environment did by itself (a
/// port-forward opened, leftovers restored, a capability missing).
pub(crate) fn notice(message: impl std::fmt::Display) {
    crate::errln!("kubernetes: {message}");
}

/// The Kubernetes environment of one run.
pub struct KubeEnvironment {
    name: String,
    run_id: String,
    cluster: Cluster,
    workloads: BTreeMap<String, Workload>,
    expected: BTreeMap<String, u32>,
    services: Services,
    focus_url: String,
    /// The service `focus_url` reaches: the one HTTP service scenarios may send requests to.
    focus_service: String,
    metrics: Availability,
    proxies: Proxies,
}

/// Connects to the cluster, restores or refuses an earlier run's leftovers, checks the
/// workloads and finds the Focus Server.
pub async fn open(config: &KubeConfig, ctx: &OpenContext) -> EnvResult<Arc<dyn Environment>> {
    Ok(Arc::new(KubeEnvironment::open(config, ctx).await?))
}

/// Restores whatever earlier runs left in the environment's namespace and says what it did,
/// one line per change; empty when there was nothing (`scenario-runner cleanup`).
pub async fn cleanup(
    config: &KubeConfig,
    env_name: &str,
    config_dir: &std::path::Path,
) -> EnvResult<Vec<String>> {
    config.validate(env_name).map_err(EnvError::Failed)?;
    let cluster = connect(config, config_dir).await?.0;
    let leftovers = cleanup::find(&cluster).await?;
    cleanup::restore(&cluster, &leftovers).await
}

async fn connect(config: &KubeConfig, config_dir: &std::path::Path) -> EnvResult<(Cluster, bool)> {
    let connection = client::connect(config, config_dir).await?;
    let cluster = Cluster {
        client: connection.client,
        namespace: config.namespace.clone(),
        timeout: config
            .request_timeout()
            .map_err(|e| EnvError::Failed(e.to_string()))?,
    };
    tracing::debug!(
        "Kubernetes API server {}, namespace {}",
        connection.cluster_url,
        config.namespace
    );
    Ok((cluster, connection.cluster_dns))
}

impl KubeEnvironment {
    /// See [`open`].
    pub async fn open(config: &KubeConfig, ctx: &OpenContext) -> EnvResult<Self> {
        config.validate(&ctx.name).map_err(EnvError::Failed)?;
        let (cluster, cluster_dns) = connect(config, &ctx.config_dir).await?;
        restore_or_refuse(&cluster, ctx).await?;
        let workloads: BTreeMap<String, Workload> = config
            .workloads
            .iter()
            .map(|(key, spec)| {
                let selector = Selector::parse(&spec.selector).expect("validated");
                (
                    key.clone(),
                    Workload {
                        key: key.clone(),
                        kind: spec.kind,
                        name: spec.name.clone(),
                        selector,
                    },
                )
            })
            .collect();
        let mut expected = BTreeMap::new();
        for (key, workload) in &workloads {
            let summary = workloads::summary(&cluster, workload.kind, &workload.name).await.map_err(|e| match e {
                EnvError::NotFound(m) => EnvError::NotFound(format!(
                    "{m}; workload {key:?} of [environments.{}] names {}, which is not in namespace {}: \
                     apply deploy/ or fix the mapping",
                    ctx.name,
                    workload.object(),
                    cluster.namespace
                )),
                other => other,
            })?;
            expected.insert(
                key.clone(),
                config.workloads[key].replicas.unwrap_or(summary.desired),
            );
        }
        let metrics = metrics::detect(&cluster).await;
        if let Availability::Unavailable(why) = &metrics {
            notice(format_args!("memory is unsupported here: {why}"));
        }
        let services = Services::new(cluster.clone(), config, workloads.clone(), cluster_dns);
        let focus_url = services::focus_preflight(&services, config).await?;
        let run_id = label_value(&ctx.run_id);
        let missing = proxy::missing_rules(&cluster).await;
        let proxies = Proxies::new(cluster.clone(), config, &run_id, &missing);
        if !proxies.available() {
            let rules: Vec<String> = missing.iter().map(ToString::to_string).collect();
            notice(format_args!(
                "network faults are unsupported here: the Role lacks {}",
                rules.join(", ")
            ));
        }
        Ok(Self {
            name: ctx.name.clone(),
            run_id,
            cluster,
            workloads,
            expected,
            services,
            focus_url,
            focus_service: config.focus_service.clone(),
            metrics,
            proxies,
        })
    }

    fn workload(&self, key: &str) -> EnvResult<&Workload> {
        self.workloads.get(key).ok_or_else(|| {
            EnvError::NotPermitted(format!(
                "workload {key:?} is not declared in [environments.{}.workloads] (it declares: {})",
                self.name,
                self.workloads
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }
}

/// Restores an earlier run's leftovers when `ctx.force_cleanup` is set; refuses otherwise.
async fn restore_or_refuse(cluster: &Cluster, ctx: &OpenContext) -> EnvResult<()> {
    let leftovers = cleanup::find(cluster).await?;
    if leftovers.is_empty() {
        return Ok(());
    }
    if !ctx.force_cleanup {
        let listed: Vec<String> = leftovers.iter().map(ToString::to_string).collect();
        return Err(EnvError::Failed(format!(
            "an earlier run left changes in namespace {}: {}; restore them with `scenario-runner \
             cleanup --env {}` or start with `scenario-runner run --force-cleanup` (if that run is \
             still going, wait for it)",
            cluster.namespace,
            listed.join("; "),
            ctx.name
        )));
    }
    for line in cleanup::restore(cluster, &leftovers).await? {
        notice(format_args!("--force-cleanup: {line}"));
    }
    Ok(())
}

#[async_trait]
impl Environment for KubeEnvironment {
    fn info(&self) -> EnvironmentInfo {
        EnvironmentInfo {
            name: self.name.clone(),
            kind: "kubernetes",
            capabilities: Capabilities {
                scale: true,
                delete_pod: true,
                block_blackhole: true,
                block_refuse: false,
                memory: self.metrics == Availability::Served,
                // The fault proxy is placed in front of a workload when the Role allows it.
                // Port-forwards are not declared loopback services for load, nor streams
                // reachable.
                faults: self.proxies.available(),
                load: false,
                watch_stream: false,
            },
            workloads: self.workloads.keys().cloned().collect(),
            services: self.services_keys(),
        }
    }

    fn focus_url(&self) -> String {
        self.focus_url.clone()
    }

    /// The Focus Server's service (`focus_service`, reached at `focus_url`) is the HTTP
    /// service; other `protocol = "http"` services are not reachable for HTTP yet.
    fn http_url(&self, service: &str) -> Option<String> {
        (service == self.focus_service).then(|| self.focus_url.clone())
    }

    async fn scale(&self, workload: &str, replicas: u32) -> EnvResult<()> {
        workloads::scale(
            &self.cluster,
            self.workload(workload)?,
            replicas,
            &self.run_id,
        )
        .await
    }

    async fn replicas(&self, workload: &str) -> EnvResult<u32> {
        let w = self.workload(workload)?;
        workloads::replicas(&self.cluster, w.kind, &w.name).await
    }

    async fn delete_pod(&self, workload: &str) -> EnvResult<String> {
        pods::delete_oldest_ready(&self.cluster, self.workload(workload)?).await
    }

    async fn pods(&self, workload: &str) -> EnvResult<Vec<Pod>> {
        Ok(pods::list(&self.cluster, self.workload(workload)?)
            .await?
            .iter()
            .map(pods::to_env_pod)
            .collect())
    }

    async fn wait_ready(&self, workload: &str, timeout: Duration) -> EnvResult<()> {
        let w = self.workload(workload)?;
        let object = Mutex::new(None);
        let pods_seen = Mutex::new(None::<(usize, usize)>);
        let wait = async {
            let summary =
                workloads::await_object_ready(&self.cluster, w.kind, &w.name, &object).await?;
            let want = summary.desired as usize;
            let done =
                |ready: usize, _total: usize| if want == 0 { ready == 0 } else { ready >= want };
            pods::await_pods(&self.cluster, w, done, &pods_seen).await
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => result,
            Err(_) => {
                let object = object.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let pods_seen = *pods_seen.lock().unwrap_or_else(|p| p.into_inner());
                let status = match (pods_seen, object) {
                    (Some((ready, total)), Some(s)) => {
                        format!("{ready} of {} wanted pods ready ({total} pods)", s.desired)
                    }
                    (None, Some(s)) if !s.observed => {
                        "the controller has not caught up with the latest spec".to_owned()
                    }
                    (None, Some(s)) => format!("{} of {} replicas ready", s.ready, s.desired),
                    (_, None) => "no answer from the watch".to_owned(),
                };
                Err(EnvError::Timeout(format!(
                    "wait-ready {workload}: {status} after {:.1} s ({} in namespace {})",
                    timeout.as_secs_f64(),
                    w.object(),
                    self.cluster.namespace
                )))
            }
        }
    }

    async fn block_network(&self, workload: &str, mode: BlockMode) -> EnvResult<()> {
        let w = self.workload(workload)?;
        if mode == BlockMode::Refuse {
            return Err(network::refuse_unsupported(workload));
        }
        if !self.services.cluster_dns() {
            notice(format_args!(
                "blocking {workload}: traffic the runner sends through its own port-forwards is not \
                 subject to NetworkPolicies, so its probes may still reach {workload}; in-cluster \
                 clients such as the Focus Server are cut off"
            ));
        }
        network::block(&self.cluster, w, &self.run_id).await
    }

    async fn unblock_network(&self, workload: &str) -> EnvResult<()> {
        network::unblock(&self.cluster, self.workload(workload)?).await
    }

    async fn add_fault(&self, workload: &str, id: FaultId, fault: Fault) -> EnvResult<()> {
        self.workload(workload)?;
        self.proxies.add(workload, id, &fault).await
    }

    async fn remove_fault(&self, workload: &str, id: FaultId) -> EnvResult<()> {
        self.workload(workload)?;
        self.proxies.remove(workload, id).await
    }

    async fn memory(&self, workload: &str) -> EnvResult<Option<u64>> {
        let w = self.workload(workload)?;
        match &self.metrics {
            Availability::Served => metrics::memory(&self.cluster, w).await,
            Availability::Unavailable(why) => Err(EnvError::Unsupported(format!(
                "memory of {workload}: {why}"
            ))),
        }
    }

    async fn probe(&self, service: &str) -> EnvResult<ProbeResult> {
        self.services.probe(service).await
    }

    async fn deviations(&self) -> EnvResult<Vec<Deviation>> {
        let mut found = Vec::new();
        for (key, w) in &self.workloads {
            let summary = workloads::summary(&self.cluster, w.kind, &w.name).await?;
            let expected = self.expected[key];
            let problem = if let Some(mark) = &summary.mark {
                Some(format!(
                    "scaled by run {} (original replicas {})",
                    mark.run_id, mark.original_replicas
                ))
            } else if summary.desired != expected {
                Some(format!(
                    "at {} replicas, {expected} expected",
                    summary.desired
                ))
            } else if summary.ready < expected || !summary.observed {
                Some(format!("{} of {expected} replicas ready", summary.ready))
            } else {
                None
            };
            if let Some(problem) = problem {
                found.push(Deviation {
                    target: key.clone(),
                    problem: format!("{problem} ({})", w.object()),
                });
            }
        }
        for block in network::blocks(&self.cluster).await? {
            found.push(Deviation {
                target: if block.workload.is_empty() {
                    block.name.clone()
                } else {
                    block.workload.clone()
                },
                problem: format!(
                    "network blocked by NetworkPolicy/{} (run {})",
                    block.name, block.run_id
                ),
            });
        }
        found.extend(proxy::deviations(&self.cluster).await?);
        Ok(found)
    }

    async fn shutdown(&self) {
        self.proxies.undo_all().await;
        self.services.close().await;
    }
}

impl KubeEnvironment {
    fn services_keys(&self) -> Vec<String> {
        self.services.keys()
    }
}
