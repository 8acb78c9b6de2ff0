//! Deployments and StatefulSets through typed `Api<K>`: scaling through the `/scale`
//! subresource, with the original replica count recorded in an annotation before the first
//! change so that a later run can restore it after a crash.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::{ListParams, Patch, PatchParams};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::env::{EnvError, EnvResult};

use super::client::Cluster;
use super::config::WorkloadKind;
use super::rbac::{self, Rule};
use super::selector::Selector;
use super::{ORIGINAL_REPLICAS_ANNOTATION, RUN_ID_ANNOTATION};

/// A workload of the configuration, resolved.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The name scenarios use, such as `mongodb`.
    pub key: String,
    /// Deployment or StatefulSet.
    pub kind: WorkloadKind,
    /// The object's name.
    pub name: String,
    /// Its pods' selector.
    pub selector: Selector,
}

impl Workload {
    /// `Deployment/mongodb`.
    pub fn object(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.name)
    }
}

/// What the runner reads of a workload object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `spec.replicas`.
    pub desired: u32,
    /// `status.readyReplicas`.
    pub ready: u32,
    /// Whether the controller has seen the latest spec (`observedGeneration >= generation`).
    pub observed: bool,
    /// The runner's mark, when an earlier change of this or another run is in place.
    pub mark: Option<Mark>,
    /// `metadata.resourceVersion`, for optimistic concurrency.
    pub resource_version: Option<String>,
}

/// The annotations the runner puts on an object it scaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The replica count before the run changed it, as recorded.
    pub original_replicas: Original,
    /// The run that changed it.
    pub run_id: String,
}

/// The recorded original replica count: a number, or, when someone edited the annotation into
/// something else, its text. The runner never guesses a count from a corrupt annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Original {
    /// A replica count.
    Replicas(u32),
    /// The annotation's text, which is not a replica count.
    Corrupt(String),
}

impl std::fmt::Display for Original {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Replicas(n) => write!(f, "{n}"),
            Self::Corrupt(text) => write!(f, "{text:?} (not a replica count)"),
        }
    }
}

impl Mark {
    fn from_annotations(annotations: Option<&BTreeMap<String, String>>) -> Option<Self> {
        let annotations = annotations?;
        let original = annotations.get(ORIGINAL_REPLICAS_ANNOTATION)?;
        Some(Self {
            original_replicas: match original.trim().parse() {
                Ok(n) => Original::Replicas(n),
                Err(_) => Original::Corrupt(original.clone()),
            },
            run_id: annotations
                .get(RUN_ID_ANNOTATION)
                .cloned()
                .unwrap_or_else(|| "unknown".into()),
        })
    }
}

/// A controller kind the backend drives: its typed object and its RBAC rules.
pub trait Controller:
    kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + Debug
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// get, list, watch, patch, get scale, patch scale.
    const RULES: [Rule; 6];
    /// What the runner reads of it.
    fn summary(&self) -> Summary;
}

macro_rules! controller {
    ($ty:ty, [$($rule:ident),*]) => {
        impl Controller for $ty {
            const RULES: [Rule; 6] = [$(rbac::$rule),*];
            fn summary(&self) -> Summary {
                let desired = self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1).max(0) as u32;
                let status = self.status.as_ref();
                let ready = status.and_then(|s| s.ready_replicas).unwrap_or(0).max(0) as u32;
                let observed = status.and_then(|s| s.observed_generation).unwrap_or(0)
                    >= self.metadata.generation.unwrap_or(0);
                Summary {
                    desired,
                    ready,
                    observed,
                    mark: Mark::from_annotations(self.metadata.annotations.as_ref()),
                    resource_version: self.metadata.resource_version.clone(),
                }
            }
        }
    };
}

controller!(
    Deployment,
    [
        GET_DEPLOYMENT,
        LIST_DEPLOYMENTS,
        WATCH_DEPLOYMENTS,
        PATCH_DEPLOYMENT,
        GET_DEPLOYMENT_SCALE,
        PATCH_DEPLOYMENT_SCALE
    ]
);
controller!(
    StatefulSet,
    [
        GET_STATEFULSET,
        LIST_STATEFULSETS,
        WATCH_STATEFULSETS,
        PATCH_STATEFULSET,
        GET_STATEFULSET_SCALE,
        PATCH_STATEFULSET_SCALE
    ]
);

const GET: usize = 0;
const LIST: usize = 1;
const WATCH: usize = 2;
const PATCH: usize = 3;
const GET_SCALE: usize = 4;
const PATCH_SCALE: usize = 5;

/// Calls `$body` with the type alias `$k` set to the workload kind's typed object.
macro_rules! by_kind {
    ($kind:expr, $k:ident => $body:expr) => {
        match $kind {
            WorkloadKind::Deployment => {
                type $k = Deployment;
                $body
            }
            WorkloadKind::StatefulSet => {
                type $k = StatefulSet;
                $body
            }
        }
    };
}

/// Reads the workload object.
pub async fn summary(cluster: &Cluster, kind: WorkloadKind, name: &str) -> EnvResult<Summary> {
    by_kind!(kind, K => {
        let call = cluster.on(K::RULES[GET], name);
        Ok(call.run(cluster.timeout, cluster.api::<K>().get(name)).await?.summary())
    })
}

/// The desired replicas, from the `/scale` subresource.
pub async fn replicas(cluster: &Cluster, kind: WorkloadKind, name: &str) -> EnvResult<u32> {
    by_kind!(kind, K => {
        let call = cluster.on(K::RULES[GET_SCALE], name);
        let scale = call.run(cluster.timeout, cluster.api::<K>().get_scale(name)).await?;
        Ok(scale.spec.and_then(|s| s.replicas).unwrap_or(0).max(0) as u32)
    })
}

/// Sets the desired replicas through the `/scale` subresource.
pub async fn patch_scale(
    cluster: &Cluster,
    kind: WorkloadKind,
    name: &str,
    replicas: u32,
) -> EnvResult<()> {
    by_kind!(kind, K => {
        let call = cluster.on(K::RULES[PATCH_SCALE], name);
        let patch = Patch::Merge(json!({ "spec": { "replicas": replicas } }));
        call.run(cluster.timeout, cluster.api::<K>().patch_scale(name, &PatchParams::default(), &patch)).await?;
        Ok(())
    })
}

/// Puts the runner's mark on the object. `Ok(false)` when the object changed since
/// `resource_version` was read (a 409 Conflict): read it again and retry.
pub async fn set_mark(
    cluster: &Cluster,
    kind: WorkloadKind,
    name: &str,
    mark: &Mark,
    resource_version: Option<&str>,
) -> EnvResult<bool> {
    let mut metadata = json!({ "annotations": {
        ORIGINAL_REPLICAS_ANNOTATION: mark.original_replicas.to_string(),
        RUN_ID_ANNOTATION: mark.run_id,
    }});
    if let Some(version) = resource_version {
        metadata["resourceVersion"] = json!(version);
    }
    let patch = Patch::Merge(json!({ "metadata": metadata }));
    by_kind!(kind, K => {
        let call = cluster.on(K::RULES[PATCH], name);
        let api = cluster.api::<K>();
        match call.try_run(cluster.timeout, api.patch(name, &PatchParams::default(), &patch)).await? {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(call.error(e)),
        }
    })
}

/// Removes the runner's mark.
pub async fn clear_mark(cluster: &Cluster, kind: WorkloadKind, name: &str) -> EnvResult<()> {
    let patch = json!({ "metadata": { "annotations": {
        ORIGINAL_REPLICAS_ANNOTATION: null,
        RUN_ID_ANNOTATION: null,
    }}});
    patch_object(cluster, kind, name, patch).await
}

async fn patch_object(
    cluster: &Cluster,
    kind: WorkloadKind,
    name: &str,
    patch: serde_json::Value,
) -> EnvResult<()> {
    by_kind!(kind, K => {
        let call = cluster.on(K::RULES[PATCH], name);
        let api = cluster.api::<K>();
        call.run(cluster.timeout, api.patch(name, &PatchParams::default(), &Patch::Merge(patch))).await?;
        Ok(())
    })
}

/// The objects of `kind` in the namespace that carry the runner's mark.
pub async fn marked(cluster: &Cluster, kind: WorkloadKind) -> EnvResult<Vec<(String, Mark)>> {
    by_kind!(kind, K => {
        let call = cluster.collection(K::RULES[LIST]);
        let list = call.run(cluster.timeout, cluster.api::<K>().list(&ListParams::default())).await?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|o| {
                let mark = Mark::from_annotations(o.metadata.annotations.as_ref())?;
                Some((o.metadata.name.clone().unwrap_or_default(), mark))
            })
            .collect())
    })
}

/// Scales `workload` to `replicas` for run `run_id`: marks the object before its first change,
/// and removes the mark when the count is back at the original.
pub async fn scale(
    cluster: &Cluster,
    workload: &Workload,
    replicas: u32,
    run_id: &str,
) -> EnvResult<()> {
    let (kind, name) = (workload.kind, workload.name.as_str());
    let mut attempts = 0u32;
    let mut marked_now = false;
    let original = loop {
        let now = summary(cluster, kind, name).await?;
        match now.mark {
            Some(mark) if mark.run_id != run_id => {
                return Err(EnvError::Failed(format!(
                    "{} in namespace {} carries {RUN_ID_ANNOTATION}={} with {ORIGINAL_REPLICAS_ANNOTATION}={}: \
                     another run changed it and has not restored it; if that run is over, run \
                     `scenario-runner cleanup --env NAME`",
                    workload.object(),
                    cluster.namespace,
                    mark.run_id,
                    mark.original_replicas
                )));
            }
            Some(Mark {
                original_replicas: Original::Replicas(n),
                ..
            }) => break n,
            Some(Mark {
                original_replicas: Original::Corrupt(text),
                ..
            }) => return Err(corrupt_mark(cluster, kind, name, &text)),
            None if now.desired == replicas => return Ok(()),
            None => {
                let mark = Mark {
                    original_replicas: Original::Replicas(now.desired),
                    run_id: run_id.to_owned(),
                };
                if set_mark(cluster, kind, name, &mark, now.resource_version.as_deref()).await? {
                    marked_now = true;
                    break now.desired;
                }
                attempts += 1;
                if attempts >= 5 {
                    return Err(EnvError::Failed(format!(
                        "{} in namespace {}: its resourceVersion changed {attempts} times while the \
                         runner recorded the original replicas; something else keeps changing it",
                        workload.object(),
                        cluster.namespace
                    )));
                }
            }
        }
    };
    if let Err(e) = patch_scale(cluster, kind, name, replicas).await {
        if marked_now {
            // Nothing changed: the mark would only make the next run refuse to start.
            let _ = clear_mark(cluster, kind, name).await;
        }
        return Err(e);
    }
    if replicas == original {
        clear_mark(cluster, kind, name).await?;
    }
    Ok(())
}

/// Restores a marked object: its original replicas, then no mark.
pub async fn restore(
    cluster: &Cluster,
    kind: WorkloadKind,
    name: &str,
    mark: &Mark,
) -> EnvResult<()> {
    let original = match &mark.original_replicas {
        Original::Replicas(n) => *n,
        Original::Corrupt(text) => return Err(corrupt_mark(cluster, kind, name, text)),
    };
    patch_scale(cluster, kind, name, original).await?;
    clear_mark(cluster, kind, name).await
}

/// The refusal to touch an object whose original-replicas annotation is not a count.
fn corrupt_mark(cluster: &Cluster, kind: WorkloadKind, name: &str, text: &str) -> EnvError {
    EnvError::Failed(format!(
        "{}/{name} in namespace {} carries {ORIGINAL_REPLICAS_ANNOTATION}={text:?}, which is not a replica count; the runner leaves it alone rather than guess: scale it by hand (kubectl -n {} scale {}/{name} --replicas=N) and remove its annotations {ORIGINAL_REPLICAS_ANNOTATION} and {RUN_ID_ANNOTATION}",
        kind.as_str(),
        cluster.namespace,
        cluster.namespace,
        kind.as_str().to_lowercase(),
    ))
}

/// Waits, with a watch, until the controller has seen the latest spec and reports all
/// desired replicas ready. Transient watch errors are retried; RBAC and not-found are not.
/// `last` keeps the latest summary seen, for timeout messages.
pub async fn await_object_ready(
    cluster: &Cluster,
    kind: WorkloadKind,
    name: &str,
    last: &std::sync::Mutex<Option<Summary>>,
) -> EnvResult<Summary> {
    by_kind!(kind, K => {
        let cond = |obj: Option<&K>| {
            let summary = obj.map(|o| o.summary());
            let done = summary.as_ref().is_some_and(|s| s.observed && s.ready >= s.desired);
            *last.lock().unwrap_or_else(|p| p.into_inner()) = summary;
            done
        };
        loop {
            match kube::runtime::wait::await_condition(cluster.api::<K>(), name, cond).await {
                Ok(Some(obj)) => return Ok(obj.summary()),
                Ok(None) => return Err(cluster.on(K::RULES[GET], name).error(not_found(name))),
                Err(kube::runtime::wait::Error::ProbeFailed(err)) => {
                    let (rule, err) = watcher_error(K::RULES[LIST], K::RULES[WATCH], err);
                    let mapped = cluster.on(rule, name).error(err);
                    if !matches!(mapped, EnvError::Failed(_)) {
                        return Err(mapped);
                    }
                    tracing::debug!("watching {name}: {mapped}; watching again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    })
}

/// The rule a watcher error belongs to (its initial list or its watch) and the kube error.
pub fn watcher_error(
    list: Rule,
    watch: Rule,
    err: kube::runtime::watcher::Error,
) -> (Rule, kube::Error) {
    use kube::runtime::watcher::Error as W;
    match err {
        W::InitialListFailed(e) => (list, e),
        W::WatchStartFailed(e) | W::WatchFailed(e) => (watch, e),
        W::WatchError(status) => (watch, kube::Error::Api(status)),
        W::NoResourceVersion => (
            list,
            kube::Error::Api(Box::new(kube::core::Status::failure(
                "the list had no resourceVersion",
                "InternalError",
            ))),
        ),
    }
}

fn not_found(name: &str) -> kube::Error {
    let mut status = kube::core::Status::failure(
        &format!("{name:?} not found (deleted while waiting)"),
        "NotFound",
    );
    status.code = 404;
    kube::Error::Api(Box::new(status))
}
