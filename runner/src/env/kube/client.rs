//! The kube client: `Config::infer()` (kubeconfig, `KUBECONFIG`, or the in-cluster service
//! account), or the named context of the kubeconfig.

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::env::{EnvError, EnvResult};

use super::config::{KubeConfig, ServiceAccess};

/// A connected client and how services are reached with it.
#[derive(Clone)]
pub struct Connection {
    /// The client.
    pub client: kube::Client,
    /// The API server's URL, for messages.
    pub cluster_url: String,
    /// Whether services are reached by cluster DNS (the runner runs in a pod) rather than
    /// through port-forwards.
    pub cluster_dns: bool,
}

/// Builds the client `config` asks for. The error says which configuration was tried.
pub async fn connect(config: &KubeConfig) -> EnvResult<Connection> {
    // kube's rustls needs a process-wide crypto provider; ring is the workspace's one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kube_config = match &config.context {
        Some(context) => {
            let options = KubeConfigOptions { context: Some(context.clone()), ..Default::default() };
            kube::Config::from_kubeconfig(&options).await.map_err(|e| {
                EnvError::Failed(format!(
                    "cannot use kube context {context:?}: {}; list the contexts with \
                     `kubectl config get-contexts` (KUBECONFIG={})",
                    super::errors::error_chain(&e),
                    std::env::var("KUBECONFIG").unwrap_or_else(|_| "~/.kube/config".into())
                ))
            })?
        }
        None => kube::Config::infer().await.map_err(|e| {
            EnvError::Failed(format!(
                "no Kubernetes configuration: {}; set KUBECONFIG or a current context \
                 (`kubectl config use-context NAME`), or run the runner in a pod with a service account",
                super::errors::error_chain(&e)
            ))
        })?,
    };
    let cluster_url = kube_config.cluster_url.to_string();
    let client = kube::Client::try_from(kube_config).map_err(|e| {
        EnvError::Failed(format!(
            "cannot build a Kubernetes client for {cluster_url}: {}",
            super::errors::error_chain(&e)
        ))
    })?;
    let cluster_dns = match config.service_access {
        ServiceAccess::ClusterDns => true,
        ServiceAccess::PortForward => false,
        ServiceAccess::Auto => in_cluster(),
    };
    Ok(Connection { client, cluster_url, cluster_dns })
}

/// Whether this process runs in a pod: the kubelet sets `KUBERNETES_SERVICE_HOST`, and no
/// kubeconfig points elsewhere.
fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() && Kubeconfig::read().is_err()
}

/// The client with the namespace and the per-call deadline: what every operation needs.
#[derive(Clone)]
pub struct Cluster {
    /// The client.
    pub client: kube::Client,
    /// The namespace of everything the runner touches.
    pub namespace: String,
    /// The deadline of each API call (watches excepted).
    pub timeout: std::time::Duration,
}

impl Cluster {
    /// A typed handle on `K` in the namespace.
    pub fn api<K>(&self) -> kube::Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        kube::Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// The [`Call`](super::errors::Call) of `rule` on `name`.
    pub fn on<'a>(&'a self, rule: super::rbac::Rule, name: &'a str) -> super::errors::Call<'a> {
        super::errors::Call::on(rule, &self.namespace, name)
    }

    /// The [`Call`](super::errors::Call) of `rule` on the collection.
    pub fn collection(&self, rule: super::rbac::Rule) -> super::errors::Call<'_> {
        super::errors::Call::collection(rule, &self.namespace)
    }
}
