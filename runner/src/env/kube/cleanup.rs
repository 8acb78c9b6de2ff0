//! What a crashed run left behind, and its restoration: Services re-pointed to a fault proxy
//! (their original selector in an annotation), the proxies' Deployments and headless Services,
//! runner-labelled NetworkPolicies, and Deployments or StatefulSets that carry the
//! original-replicas annotation.

use crate::env::EnvResult;

use super::client::Cluster;
use super::config::WorkloadKind;
use super::network::{self, Block};
use super::proxy::{self, ProxyObject, Redirect, placement};
use super::workloads::{self, Mark, Original};

/// One change an earlier run left in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// A workload scaled away from its original replica count.
    Scaled {
        /// Deployment or StatefulSet.
        kind: WorkloadKind,
        /// The object's name.
        name: String,
        /// The annotation: original count and run id.
        mark: Mark,
    },
    /// A blocking NetworkPolicy.
    Blocked(Block),
    /// A Service re-pointed to a fault proxy.
    Redirected(Redirect),
    /// A fault proxy's Deployment or headless Service.
    Proxy(ProxyObject),
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Scaled { kind, name, mark } => write!(
                f,
                "{}/{name} scaled by run {} (original replicas {})",
                kind.as_str(),
                mark.run_id,
                mark.original_replicas
            ),
            Self::Blocked(block) => write!(
                f,
                "NetworkPolicy/{} blocking {} from run {}",
                block.name,
                if block.workload.is_empty() {
                    "?"
                } else {
                    &block.workload
                },
                block.run_id
            ),
            Self::Redirected(r) => write!(
                f,
                "Service/{} re-pointed to a fault proxy by run {}",
                r.service, r.run_id
            ),
            Self::Proxy(p) => write!(
                f,
                "{}/{} of the fault proxy in front of {} from run {}",
                p.kind, p.name, p.workload, p.run_id
            ),
        }
    }
}

/// Every leftover in the namespace: re-pointed Services first, then the proxies, then blocks.
pub async fn find(cluster: &Cluster) -> EnvResult<Vec<Leftover>> {
    let mut found: Vec<Leftover> = proxy::redirects(cluster)
        .await?
        .into_iter()
        .map(Leftover::Redirected)
        .collect();
    found.extend(
        proxy::proxy_objects(cluster)
            .await?
            .into_iter()
            .map(Leftover::Proxy),
    );
    found.extend(
        network::blocks(cluster)
            .await?
            .into_iter()
            .map(Leftover::Blocked),
    );
    for kind in [WorkloadKind::Deployment, WorkloadKind::StatefulSet] {
        for (name, mark) in workloads::marked(cluster, kind).await? {
            found.push(Leftover::Scaled { kind, name, mark });
        }
    }
    Ok(found)
}

/// Restores `leftovers` in order (Services and blocks first, so the workloads can come back)
/// and says what it did, one line per change. A workload whose original-replicas annotation,
/// or a Service whose original-selector annotation, is corrupt is refused (never guessed); the
/// others are still restored, and the refusal is the error.
pub async fn restore(cluster: &Cluster, leftovers: &[Leftover]) -> EnvResult<Vec<String>> {
    let mut done = Vec::new();
    let mut refused = Vec::new();
    for leftover in leftovers {
        match leftover {
            Leftover::Redirected(r) => match &r.original {
                Err(why) => refused.push(placement::corrupt(cluster, &r.service, why).to_string()),
                Ok(original) => {
                    placement::restore(cluster, &r.service, original).await?;
                    done.push(format!(
                        "restored the selector of Service/{} in {} (re-pointed to a fault proxy \
                         by run {})",
                        r.service, cluster.namespace, r.run_id
                    ));
                }
            },
            Leftover::Proxy(p) => {
                if p.kind == "Deployment" {
                    placement::delete::<k8s_openapi::api::apps::v1::Deployment>(
                        cluster,
                        super::rbac::DELETE_DEPLOYMENT,
                        &p.name,
                    )
                    .await?;
                } else {
                    placement::delete::<k8s_openapi::api::core::v1::Service>(
                        cluster,
                        super::rbac::DELETE_SERVICE,
                        &p.name,
                    )
                    .await?;
                }
                done.push(format!(
                    "deleted {}/{} in {} (the fault proxy in front of {}; left by run {})",
                    p.kind, p.name, cluster.namespace, p.workload, p.run_id
                ));
            }
            Leftover::Blocked(block) => {
                network::delete(cluster, &block.name).await?;
                done.push(format!(
                    "deleted NetworkPolicy/{} in {} (it blocked {}; left by run {})",
                    block.name, cluster.namespace, block.workload, block.run_id
                ));
            }
            Leftover::Scaled { kind, name, mark } => {
                if let Original::Corrupt(_) = mark.original_replicas {
                    if let Err(refusal) = workloads::restore(cluster, *kind, name, mark).await {
                        refused.push(refusal.to_string());
                    }
                    continue;
                }
                let before = workloads::replicas(cluster, *kind, name).await?;
                workloads::restore(cluster, *kind, name, mark).await?;
                done.push(format!(
                    "scaled {}/{name} in {} from {before} back to {} replicas and removed its \
                     scenario-runner annotations (left by run {})",
                    kind.as_str(),
                    cluster.namespace,
                    mark.original_replicas,
                    mark.run_id
                ));
            }
        }
    }
    if refused.is_empty() {
        return Ok(done);
    }
    let restored = if done.is_empty() {
        String::new()
    } else {
        format!(" (restored: {})", done.join("; "))
    };
    Err(crate::env::EnvError::Failed(format!(
        "{}{restored}",
        refused.join("; ")
    )))
}
