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

/// Deletes the proxy's Deployment and headless Service of `workload`.
pub async fn delete_objects(cluster: &Cluster, workload: &str) -> EnvResult<()> {
    delete::<Deployment>(cluster, rbac::DELETE_DEPLOYMENT, &proxy_name(workload)).await?;
    delete::<Service>(cluster, rbac::DELETE_SERVICE, &direct_name(workload)).await
}

/// Undoes a placement: the Service's selector restored from its annotation (when it carries
/// one), then the proxy's objects deleted. A corrupt annotation is refused, never guessed.
pub async fn undo(cluster: &Cluster, workload: &str, service: &str) -> EnvResult<()> {
    let found = cluster
        .on(rbac::GET_SERVICE, service)
        .run(cluster.timeout, cluster.api::<Service>().get_opt(service))
        .await?;
    if let Some(found) = found {
        let recorded = found
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ORIGINAL_SELECTOR_ANNOTATION));
        if let Some(text) = recorded {
            let original = parse_original(text).map_err(|why| corrupt(cluster, service, &why))?;
            let current = found.spec.and_then(|s| s.selector).unwrap_or_default();
            restore_selector(cluster, service, &current, &original).await?;
        }
    }
    delete_objects(cluster, workload).await
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
