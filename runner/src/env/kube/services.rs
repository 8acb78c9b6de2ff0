//! Reaching services: by cluster DNS when the runner runs in a pod, otherwise through
//! port-forwards the runner opens itself; and the Focus Server preflight, which says exactly
//! what it tried when nothing answers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::env::{EnvError, EnvResult, ProbeResult};

use super::client::Cluster;
use super::config::{KubeConfig, ServiceSpec};
use super::errors::error_chain;
use super::portforward::{Forward, Target};
use super::probe;
use super::workloads::Workload;

/// The services of the configuration and the forwards opened to them.
pub struct Services {
    cluster: Cluster,
    specs: BTreeMap<String, ServiceSpec>,
    names: BTreeMap<String, String>,
    workloads: BTreeMap<String, Workload>,
    cluster_dns: bool,
    forwards: tokio::sync::Mutex<HashMap<String, Arc<Forward>>>,
}

impl Services {
    /// The services of `config`, reached by cluster DNS or by port-forwards.
    pub fn new(
        cluster: Cluster,
        config: &KubeConfig,
        workloads: BTreeMap<String, Workload>,
        cluster_dns: bool,
    ) -> Self {
        let names = config
            .services
            .keys()
            .map(|k| (k.clone(), config.service_name(k).to_owned()))
            .collect();
        Self {
            cluster,
            specs: config.services.clone(),
            names,
            workloads,
            cluster_dns,
            forwards: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The service names scenarios may probe.
    pub fn keys(&self) -> Vec<String> {
        self.specs.keys().cloned().collect()
    }

    /// Whether services are reached by cluster DNS.
    pub fn cluster_dns(&self) -> bool {
        self.cluster_dns
    }

    fn spec(&self, key: &str) -> EnvResult<&ServiceSpec> {
        self.specs.get(key).ok_or_else(|| {
            EnvError::NotPermitted(format!(
                "service {key:?} is not declared in the environment's services (it declares: {})",
                self.specs.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// What a port-forward to `key` targets.
    pub fn target(&self, key: &str) -> EnvResult<Target> {
        let spec = self.spec(key)?;
        Ok(Target {
            workload: self.workloads[&spec.workload].clone(),
            service: self.names[key].clone(),
            service_port: spec.port,
            pod_port: spec.pod_port(),
        })
    }

    /// `<service>.<namespace>.svc:<port>`.
    pub fn dns_address(&self, key: &str) -> EnvResult<String> {
        let spec = self.spec(key)?;
        Ok(format!(
            "{}.{}.svc:{}",
            self.names[key], self.cluster.namespace, spec.port
        ))
    }

    /// The forward to `key`, opened on first use.
    pub async fn forward(&self, key: &str) -> EnvResult<Arc<Forward>> {
        let mut forwards = self.forwards.lock().await;
        if let Some(forward) = forwards.get(key) {
            return Ok(forward.clone());
        }
        let target = self.target(key)?;
        let forward = Arc::new(Forward::open(self.cluster.clone(), target).await?);
        super::notice(format_args!(
            "port-forward 127.0.0.1:{} -> {} (the runner is outside the cluster)",
            forward.local.port(),
            forward.target().describe(&self.cluster.namespace)
        ));
        forwards.insert(key.to_owned(), forward.clone());
        Ok(forward)
    }

    /// Probes `key` once by its protocol.
    pub async fn probe(&self, key: &str) -> EnvResult<ProbeResult> {
        let spec = self.spec(key)?;
        let protocol = spec.protocol;
        if let Some(address) = &spec.address {
            return Ok(probe::probe(protocol, address, "the configured address").await);
        }
        if self.cluster_dns {
            let address = self.dns_address(key)?;
            return Ok(probe::probe(protocol, &address, "cluster DNS").await);
        }
        let target = self.target(key)?;
        let via = format!(
            "port-forward to {}",
            target.describe(&self.cluster.namespace)
        );
        if super::pods::first_ready(&self.cluster, &target.workload)
            .await?
            .is_none()
        {
            return Ok(probe::no_endpoints(format!(
                "no ready pod of {} behind svc/{}: the Service has no endpoints, so connections are refused ({via})",
                target.workload.object(),
                target.service
            )));
        }
        let forward = self.forward(key).await?;
        Ok(probe::probe(protocol, &forward.local.to_string(), &via).await)
    }

    /// Closes every forward.
    pub async fn close(&self) {
        self.forwards.lock().await.clear();
    }
}

/// Finds a Focus Server that answers `GET /health`: `focus_url` if set and reachable, else
/// the Service by cluster DNS (in a pod) or a port-forward to it. The error lists each try.
pub async fn focus_preflight(services: &Services, config: &KubeConfig) -> EnvResult<String> {
    let mut tried = Vec::new();
    if let Some(url) = &config.focus_url {
        let url = url.trim_end_matches('/').to_owned();
        match health(&url).await {
            Ok(()) => return Ok(url),
            Err(e) => tried.push(format!("cannot reach Focus Server at {url}: {e}")),
        }
    } else {
        tried.push("cannot reach Focus Server: focus_url is not set".to_owned());
    }
    let key = config.focus_service.as_str();
    if let Some(address) = services.specs.get(key).and_then(|s| s.address.as_deref()) {
        let url = format!("http://{address}");
        match health(&url).await {
            Ok(()) => return Ok(url),
            Err(e) => tried.push(format!("tried {url}, the address of service {key}: {e}")),
        }
    } else if services.specs.contains_key(key) {
        if services.cluster_dns() {
            let url = format!("http://{}", services.dns_address(key)?);
            match health(&url).await {
                Ok(()) => return Ok(url),
                Err(e) => tried.push(format!("tried {url} by cluster DNS: {e}")),
            }
        } else {
            let target = services.target(key)?;
            let described = target.describe(&services.cluster.namespace);
            match services.forward(key).await {
                Ok(forward) => {
                    let url = format!("http://{}", forward.local);
                    match health(&url).await {
                        Ok(()) => {
                            super::notice(format_args!(
                                "Focus Server: {url} is a port-forward to {described}"
                            ));
                            return Ok(url);
                        }
                        Err(e) => {
                            let why = match forward.check().await {
                                Err(forward_error) => forward_error.to_string(),
                                Ok(pod) => format!(
                                    "the forward to pod/{pod} opens, but GET /health through it: {e}"
                                ),
                            };
                            tried.push(format!("tried port-forward to {described}: {why}"));
                        }
                    }
                }
                Err(e) => tried.push(format!("tried port-forward to {described}: {e}")),
            }
        }
    }
    Err(EnvError::Failed(tried.join("; ")))
}

/// `GET {url}/health` answers 2xx within 3 s.
async fn health(url: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let response = client
        .get(format!("{url}/health"))
        .send()
        .await
        .map_err(|e| root_cause(&e))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("GET /health answered {}", response.status()))
    }
}

/// The innermost cause, which says what happened: "connection refused", "timed out".
fn root_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    let text = text
        .split(" (os error")
        .next()
        .unwrap_or(&text)
        .to_ascii_lowercase();
    if e.is_timeout() {
        format!("timed out ({})", error_chain(e))
    } else {
        text
    }
}
