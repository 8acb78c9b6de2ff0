//! What a crashed run's placements leave: Services carrying the original-selector annotation,
//! and runner-labelled proxy Deployments and headless Services.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use kube::api::ListParams;

use crate::env::{Deviation, EnvResult};

use super::super::client::Cluster;
use super::super::rbac;
use super::placement::{self, ORIGINAL_SELECTOR_ANNOTATION};

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
                    .get(super::super::RUN_ID_ANNOTATION)
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
    let params = ListParams::default().labels(&super::super::network::managed_selector());
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
                .get(super::super::RUN_ID_ANNOTATION)
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

/// The steady state's view of placements: each re-pointed Service and proxy object.
pub async fn deviations(cluster: &Cluster) -> EnvResult<Vec<Deviation>> {
    let mut found = Vec::new();
    for r in redirects(cluster).await? {
        found.push(Deviation {
            target: r.service.clone(),
            problem: format!(
                "Service/{} re-pointed to a fault proxy (run {})",
                r.service, r.run_id
            ),
        });
    }
    for p in proxy_objects(cluster).await? {
        found.push(Deviation {
            target: p.workload.clone(),
            problem: format!(
                "fault proxy {}/{} in place (run {})",
                p.kind, p.name, p.run_id
            ),
        });
    }
    Ok(found)
}
