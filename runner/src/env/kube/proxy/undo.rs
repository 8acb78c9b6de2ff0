//! Undoing a placement: the Service's selector restored from its annotation, the proxy's
//! Deployment and headless Service deleted. A corrupt annotation is refused, never guessed.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::DeleteParams;
use serde_json::{Value, json};

use crate::env::{EnvError, EnvResult};

use super::super::RUN_ID_ANNOTATION;
use super::super::client::Cluster;
use super::super::rbac::{self, Rule};
use super::placement::{ORIGINAL_SELECTOR_ANNOTATION, direct_name, patch_service, proxy_name};

/// The original selector an annotation records; `Err` says what is wrong with it.
pub fn parse_original(text: &str) -> Result<BTreeMap<String, String>, String> {
    let selector: BTreeMap<String, String> = serde_json::from_str(text)
        .map_err(|e| format!("{text:?} is not a JSON object of label values ({e})"))?;
    if selector.is_empty() {
        return Err("it records an empty selector, which would select every pod".into());
    }
    Ok(selector)
}

/// Puts `original` back as the Service's selector and removes the runner's annotations.
pub async fn restore_selector(
    cluster: &Cluster,
    name: &str,
    current: &BTreeMap<String, String>,
    original: &BTreeMap<String, String>,
) -> EnvResult<()> {
    let mut selector: serde_json::Map<String, Value> =
        current.keys().map(|k| (k.clone(), Value::Null)).collect();
    for (k, v) in original {
        selector.insert(k.clone(), json!(v));
    }
    let patch = json!({
        "metadata": { "annotations": {
            ORIGINAL_SELECTOR_ANNOTATION: null, RUN_ID_ANNOTATION: null,
        }},
        "spec": { "selector": selector },
    });
    patch_service(cluster, name, &patch).await
}

/// Puts `original` back as the selector of Service `name`, whatever it is now (cleanup).
pub async fn restore(
    cluster: &Cluster,
    name: &str,
    original: &BTreeMap<String, String>,
) -> EnvResult<()> {
    let found = cluster
        .on(rbac::GET_SERVICE, name)
        .run(cluster.timeout, cluster.api::<Service>().get(name))
        .await?;
    let current = found.spec.and_then(|s| s.selector).unwrap_or_default();
    restore_selector(cluster, name, &current, original).await
}

/// Deletes `name` through `rule`; a no-op when it is gone.
pub async fn delete<K>(cluster: &Cluster, rule: Rule, name: &str) -> EnvResult<()>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    let call = cluster.on(rule, name);
    match call
        .try_run(
            cluster.timeout,
            cluster.api::<K>().delete(name, &DeleteParams::background()),
        )
        .await?
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(call.error(e)),
    }
}

/// Deletes `name` when run `run_id` created it (its run-id label); another run's is left.
async fn delete_own<K>(
    cluster: &Cluster,
    get: Rule,
    remove: Rule,
    name: &str,
    run_id: &str,
) -> EnvResult<()>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    let found = cluster
        .on(get, name)
        .run(cluster.timeout, cluster.api::<K>().get_opt(name))
        .await?;
    let owner = found
        .as_ref()
        .and_then(|o| o.meta().labels.as_ref())
        .and_then(|l| l.get(RUN_ID_ANNOTATION));
    if owner.map(String::as_str) == Some(run_id) {
        delete::<K>(cluster, remove, name).await?;
    }
    Ok(())
}

/// Undoes run `run_id`'s placement in front of `workload`: the Service's selector restored
/// from its annotation when this run re-pointed it, then the proxy's objects this run created
/// deleted. Another run's changes are left alone; a corrupt annotation is refused, never
/// guessed.
pub async fn undo(cluster: &Cluster, workload: &str, service: &str, run_id: &str) -> EnvResult<()> {
    let found = cluster
        .on(rbac::GET_SERVICE, service)
        .run(cluster.timeout, cluster.api::<Service>().get_opt(service))
        .await?;
    if let Some(found) = found {
        let annotations = found.metadata.annotations.as_ref();
        let annotation = |key: &str| annotations.and_then(|a| a.get(key));
        let mine = annotation(RUN_ID_ANNOTATION).map(String::as_str) == Some(run_id);
        if let Some(text) = annotation(ORIGINAL_SELECTOR_ANNOTATION).filter(|_| mine) {
            let original = parse_original(text).map_err(|why| corrupt(cluster, service, &why))?;
            let current = found.spec.and_then(|s| s.selector).unwrap_or_default();
            restore_selector(cluster, service, &current, &original).await?;
        }
    }
    let (deployment, direct) = (proxy_name(workload), direct_name(workload));
    delete_own::<Deployment>(
        cluster,
        rbac::GET_DEPLOYMENT,
        rbac::DELETE_DEPLOYMENT,
        &deployment,
        run_id,
    )
    .await?;
    delete_own::<Service>(
        cluster,
        rbac::GET_SERVICE,
        rbac::DELETE_SERVICE,
        &direct,
        run_id,
    )
    .await
}

/// The refusal of a Service whose original-selector annotation cannot be read.
pub fn corrupt(cluster: &Cluster, service: &str, why: &str) -> EnvError {
    EnvError::Failed(format!(
        "Service {service} in {}: its annotation {ORIGINAL_SELECTOR_ANNOTATION} is corrupt: \
         {why}; the runner does not guess the selector: set spec.selector back by hand \
         (`kubectl edit service {service} -n {}`) and remove the annotation",
        cluster.namespace, cluster.namespace
    ))
}
