//! A workload's pods, found by its label selector: listing, deleting the oldest ready one, and
//! watching until enough are ready.

use std::collections::BTreeMap;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod as KubePod;
use kube::api::{DeleteParams, ListParams, Preconditions};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use crate::env::{EnvError, EnvResult, Pod};

use super::client::Cluster;
use super::rbac;
use super::workloads::{Workload, watcher_error};

/// Whether `pod` is ready: its `Ready` condition is `True` and it is not terminating.
pub fn is_ready(pod: &KubePod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Container restarts of `pod`, summed.
pub fn restarts(pod: &KubePod) -> u32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|c| c.iter().map(|c| c.restart_count.max(0) as u32).sum())
        .unwrap_or(0)
}

/// The workload's pods, oldest first (by creation time, then name).
pub async fn list(cluster: &Cluster, workload: &Workload) -> EnvResult<Vec<KubePod>> {
    let call = cluster.collection(rbac::LIST_PODS);
    let params = ListParams::default().labels(&workload.selector.to_string());
    let mut pods = call
        .run(cluster.timeout, cluster.api::<KubePod>().list(&params))
        .await?
        .items;
    pods.sort_by(|a, b| {
        let key = |p: &KubePod| {
            (
                p.metadata.creation_timestamp.clone(),
                p.metadata.name.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(pods)
}

/// The contract's view of a pod.
pub fn to_env_pod(pod: &KubePod) -> Pod {
    Pod {
        name: pod.metadata.name.clone().unwrap_or_default(),
        ready: is_ready(pod),
        restarts: restarts(pod),
    }
}

/// Deletes the oldest ready pod of `workload` (with its uid as a precondition, so a pod that
/// was replaced meanwhile is not touched) and returns its name.
pub async fn delete_oldest_ready(cluster: &Cluster, workload: &Workload) -> EnvResult<String> {
    let pods = list(cluster, workload).await?;
    let Some(victim) = pods.iter().find(|p| is_ready(p)) else {
        return Err(EnvError::NotFound(format!(
            "{} in namespace {} has no ready pod to delete ({} pods match {}, none ready)",
            workload.object(),
            cluster.namespace,
            pods.len(),
            workload.selector
        )));
    };
    let name = victim.metadata.name.clone().unwrap_or_default();
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: victim.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let call = cluster.on(rbac::DELETE_POD, &name);
    call.run(
        cluster.timeout,
        cluster.api::<KubePod>().delete(&name, &params),
    )
    .await?;
    Ok(name)
}

/// A ready pod of `workload` to connect to: the oldest.
pub async fn first_ready(cluster: &Cluster, workload: &Workload) -> EnvResult<Option<String>> {
    Ok(list(cluster, workload)
        .await?
        .iter()
        .find(|p| is_ready(p))
        .and_then(|p| p.metadata.name.clone()))
}

/// Whether the pod `name` still exists and is ready.
pub async fn still_ready(cluster: &Cluster, name: &str) -> EnvResult<bool> {
    let call = cluster.on(rbac::GET_POD, name);
    match call
        .try_run(cluster.timeout, cluster.api::<KubePod>().get_opt(name))
        .await?
    {
        Ok(pod) => Ok(pod.as_ref().is_some_and(is_ready)),
        Err(e) => Err(call.error(e)),
    }
}

/// Watches the workload's pods until `done(ready, total)` holds, where `ready` counts ready,
/// non-terminating pods. `progress` is kept up to date for timeout messages.
pub async fn await_pods(
    cluster: &Cluster,
    workload: &Workload,
    done: impl Fn(usize, usize) -> bool,
    progress: &std::sync::Mutex<Option<(usize, usize)>>,
) -> EnvResult<()> {
    let config = watcher::Config::default().labels(&workload.selector.to_string());
    let mut stream = watcher::watcher(cluster.api::<KubePod>(), config)
        .default_backoff()
        .boxed();
    let mut pods: BTreeMap<String, bool> = BTreeMap::new();
    let mut staging: BTreeMap<String, bool> = BTreeMap::new();
    let mut listed = false;
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::Init) => staging.clear(),
            Ok(Event::InitApply(pod)) => {
                staging.insert(
                    pod.metadata.name.clone().unwrap_or_default(),
                    is_ready(&pod),
                );
            }
            Ok(Event::InitDone) => {
                pods = std::mem::take(&mut staging);
                listed = true;
            }
            Ok(Event::Apply(pod)) => {
                pods.insert(
                    pod.metadata.name.clone().unwrap_or_default(),
                    is_ready(&pod),
                );
            }
            Ok(Event::Delete(pod)) => {
                pods.remove(&pod.metadata.name.clone().unwrap_or_default());
            }
            Err(err) => {
                let (rule, err) = watcher_error(rbac::LIST_PODS, rbac::WATCH_PODS, err);
                let mapped = cluster.collection(rule).error(err);
                if !matches!(mapped, EnvError::Failed(_)) {
                    return Err(mapped);
                }
                tracing::debug!(
                    "watching the pods of {}: {mapped}; the watcher retries",
                    workload.key
                );
                continue;
            }
        }
        if listed {
            let ready = pods.values().filter(|r| **r).count();
            *progress.lock().unwrap_or_else(|p| p.into_inner()) = Some((ready, pods.len()));
            if done(ready, pods.len()) {
                return Ok(());
            }
        }
    }
    Err(EnvError::Failed(format!(
        "the pod watch of {} ended",
        workload.key
    )))
}
