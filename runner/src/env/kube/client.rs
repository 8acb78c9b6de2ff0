//! The kube client: `Config::infer()` (kubeconfig, `KUBECONFIG`, or the in-cluster service
//! account), or the named context of the kubeconfig.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::env::{EnvError, EnvResult};

use super::config::{KubeConfig, ServiceAccess};
use super::errors::error_chain;

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

/// Builds the client `config` asks for; a relative `kubeconfig` starts at `config_dir`. The
/// error says which configuration was tried.
pub async fn connect(config: &KubeConfig, config_dir: &Path) -> EnvResult<Connection> {
    // kube's rustls needs a process-wide crypto provider; ring is the workspace's one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = KubeConfigOptions {
        context: config.context.clone(),
        ..Default::default()
    };
    let context = config.context.as_deref().map_or_else(
        || "the current context".to_owned(),
        |c| format!("kube context {c:?}"),
    );
    let kube_config = match (&config.kubeconfig, &config.context) {
        (Some(path), _) => {
            let path = config_dir.join(path);
            let file = Kubeconfig::read_from(&path).map_err(|e| {
                EnvError::Failed(format!("cannot read the kubeconfig {}: {}", path.display(), error_chain(&e)))
            })?;
            kube::Config::from_custom_kubeconfig(file, &options).await.map_err(|e| {
                EnvError::Failed(format!(
                    "cannot use {context} of the kubeconfig {}: {}",
                    path.display(),
                    error_chain(&e)
                ))
            })?
        }
        (None, Some(_)) => kube::Config::from_kubeconfig(&options).await.map_err(|e| {
            EnvError::Failed(format!(
                "cannot use {context}: {}; list the contexts with `kubectl config get-contexts` (KUBECONFIG={})",
                error_chain(&e),
                std::env::var("KUBECONFIG").unwrap_or_else(|_| "~/.kube/config".into())
            ))
        })?,
        (None, None) => kube::Config::infer().await.map_err(|e| {
            EnvError::Failed(format!(
                "no Kubernetes configuration: {}; set KUBECONFIG or a current context \
                 (`kubectl config use-context NAME`), or run the runner in a pod with a service account",
                error_chain(&e)
            ))
        })?,
    };
    let cluster_url = kube_config.cluster_url.to_string();
    let client = kube::Client::try_from(kube_config).map_err(|e| {
        EnvError::Failed(format!(
            "cannot build a Kubernetes client for {cluster_url}: {}",
            error_chain(&e)
        ))
    })?;
    let cluster_dns = match config.service_access {
        ServiceAccess::ClusterDns => true,
        ServiceAccess::PortForward => false,
        ServiceAccess::Auto => config.kubeconfig.is_none() && in_cluster(),
    };
    Ok(Connection {
        client,
        cluster_url,
        cluster_dns,
    })
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
