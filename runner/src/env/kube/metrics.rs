//! Memory from the metrics API (`metrics.k8s.io/v1beta1` PodMetrics, served by
//! metrics-server). Where it is not served, `memory` is `unsupported` and scenarios skip.

use kube::api::{Api, ApiResource, DynamicObject, ListParams};

use crate::env::{EnvError, EnvResult};

use super::client::Cluster;
use super::pods;
use super::rbac;
use super::workloads::Workload;

/// Whether the metrics API can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// It is served and the runner may read it.
    Served,
    /// It cannot be used; the reason, for the `unsupported` message.
    Unavailable(String),
}

fn pod_metrics() -> ApiResource {
    ApiResource {
        group: "metrics.k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "metrics.k8s.io/v1beta1".into(),
        kind: "PodMetrics".into(),
        plural: "pods".into(),
    }
}

fn api(cluster: &Cluster) -> Api<DynamicObject> {
    Api::namespaced_with(cluster.client.clone(), &cluster.namespace, &pod_metrics())
}

/// Asks the metrics API for one PodMetrics: a 404 means it is not served.
pub async fn detect(cluster: &Cluster) -> Availability {
    let call = cluster.collection(rbac::LIST_POD_METRICS);
    match call
        .try_run(
            cluster.timeout,
            api(cluster).list(&ListParams::default().limit(1)),
        )
        .await
    {
        Ok(Ok(_)) => Availability::Served,
        Ok(Err(kube::Error::Api(status))) if status.code == 404 || status.code == 503 => {
            Availability::Unavailable(format!(
                "the metrics API (metrics.k8s.io/v1beta1) is not served by this cluster (HTTP {}); \
                 install metrics-server to measure memory",
                status.code
            ))
        }
        Ok(Err(e)) => Availability::Unavailable(call.error(e).to_string()),
        Err(e) => Availability::Unavailable(e.to_string()),
    }
}

/// The memory working set of `workload`'s running pods, summed; `None` when none runs.
pub async fn memory(cluster: &Cluster, workload: &Workload) -> EnvResult<Option<u64>> {
    let running: Vec<String> = pods::list(cluster, workload)
        .await?
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .filter_map(|p| p.metadata.name)
        .collect();
    if running.is_empty() {
        return Ok(None);
    }
    let (mut total, mut measured) = (0u64, 0usize);
    for name in &running {
        let call = cluster.on(rbac::GET_POD_METRICS, name);
        match call
            .try_run(cluster.timeout, api(cluster).get_opt(name))
            .await?
        {
            Ok(Some(metrics)) => {
                total += container_memory(&metrics.data)?;
                measured += 1;
            }
            Ok(None) => {}
            Err(e) => return Err(call.error(e)),
        }
    }
    if measured == 0 {
        return Err(EnvError::Failed(format!(
            "no PodMetrics yet for the pods of {} ({}); metrics-server samples every 15 to 60 s, try again later",
            workload.object(),
            running.join(", ")
        )));
    }
    Ok(Some(total))
}

/// The sum of `containers[].usage.memory` of one PodMetrics.
fn container_memory(data: &serde_json::Value) -> EnvResult<u64> {
    let containers = data
        .get("containers")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let mut total = 0u64;
    for container in containers {
        let Some(text) = container.pointer("/usage/memory").and_then(|m| m.as_str()) else {
            continue;
        };
        total += parse_quantity(text).ok_or_else(|| {
            EnvError::Failed(format!(
                "the metrics API gave a memory usage of {text:?}, not a quantity"
            ))
        })?;
    }
    Ok(total)
}

/// Parses a Kubernetes quantity (`123456Ki`, `64Mi`, `1G`, `1e3`, `12345`) into a count.
pub fn parse_quantity(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        exp if exp.starts_with(['e', 'E']) => 10f64.powi(exp[1..].parse().ok()?),
        _ => return None,
    };
    let value = number * factor;
    (value.is_finite() && value >= 0.0).then(|| value.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse() {
        assert_eq!(parse_quantity("123456Ki"), Some(123_456 * 1024));
        assert_eq!(parse_quantity("64Mi"), Some(64 << 20));
        assert_eq!(parse_quantity("1G"), Some(1_000_000_000));
        assert_eq!(parse_quantity("1.5Gi"), Some(3 << 29));
        assert_eq!(parse_quantity("12345"), Some(12345));
        assert_eq!(parse_quantity("1e3"), Some(1000));
        assert_eq!(parse_quantity("2000m"), Some(2));
        assert_eq!(parse_quantity("12Qi"), None);
        assert_eq!(parse_quantity("-1Ki"), None);
    }

    #[test]
    fn container_usages_are_summed() {
        let data = serde_json::json!({ "containers": [
            { "name": "a", "usage": { "cpu": "1m", "memory": "1Mi" } },
            { "name": "b", "usage": { "cpu": "1m", "memory": "1024Ki" } },
        ]});
        assert_eq!(container_memory(&data).unwrap(), 2 << 20);
    }
}
