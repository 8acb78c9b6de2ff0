//! `[environments.<name>]` with `kind = "kubernetes"`: the namespace, the kube context, the
//! workloads the runner may touch and the services it may probe.
//!
//! ```toml
//! [environments.cluster]
//! kind = "kubernetes"
//! namespace = "panda-system"
//! context = "kind-panda"                       # optional: the kubeconfig's current context
//! kubeconfig = "staging.kubeconfig"            # optional: KUBECONFIG, ~/.kube/config or in-cluster
//! focus_url = "http://focus.example.com:5000"  # optional: else a port-forward is opened
//!
//! [environments.cluster.workloads]
//! mongodb = { kind = "Deployment", name = "mongodb", selector = "app=mongodb" }
//! focus-server = { kind = "Deployment", name = "focus-server", selector = "app=focus-server" }
//!
//! [environments.cluster.services]
//! mongodb = { workload = "mongodb", port = 27017, protocol = "mongodb" }
//! focus-server = { workload = "focus-server", port = 5000, protocol = "http" }
//! ```

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::selector::Selector;

/// `[environments.<name>]` with `kind = "kubernetes"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeConfig {
    /// The namespace every workload, service and NetworkPolicy lives in.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The kubeconfig file, relative to `runner.toml`'s folder; when unset, `KUBECONFIG` or
    /// `~/.kube/config`, or else the in-cluster service account (`kube::Config::infer`).
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context; the current context (or the in-cluster config) when unset.
    pub context: Option<String>,
    /// Where the Focus Server answers. When unset or unreachable, the runner opens a
    /// port-forward to the `focus_service` itself.
    pub focus_url: Option<String>,
    /// Which entry of `services` is the Focus Server.
    #[serde(default = "default_focus_service")]
    pub focus_service: String,
    /// How the runner reaches services: `auto` (cluster DNS inside a pod, port-forward outside),
    /// `cluster-dns` or `port-forward`.
    #[serde(default)]
    pub service_access: ServiceAccess,
    /// The timeout of each Kubernetes API call, in seconds.
    #[serde(default = "default_request_timeout_s")]
    pub request_timeout_s: f64,
    /// The workloads scenarios may touch, by the name scenarios use.
    #[serde(default)]
    pub workloads: BTreeMap<String, WorkloadSpec>,
    /// The services scenarios may probe, by the name scenarios use.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceSpec>,
    /// The image of the fault proxy the runner places in front of a workload for a network
    /// fault (`scenario-runner proxy`): the runner's own image.
    #[serde(default = "default_proxy_image")]
    pub proxy_image: String,
}

fn default_proxy_image() -> String {
    "scenario-runner:dev".to_owned()
}

fn default_namespace() -> String {
    "panda-system".to_owned()
}

fn default_focus_service() -> String {
    "focus-server".to_owned()
}

fn default_request_timeout_s() -> f64 {
    15.0
}

/// How services are reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceAccess {
    /// Cluster DNS when the runner runs in a pod (`KUBERNETES_SERVICE_HOST` is set), else a
    /// port-forward.
    #[default]
    Auto,
    /// `<service>.<namespace>.svc:<port>`.
    ClusterDns,
    /// A port-forward the runner opens to a ready pod of the service's workload.
    PortForward,
}

/// The controller kinds a workload can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum WorkloadKind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` StatefulSet.
    StatefulSet,
}

impl WorkloadKind {
    /// The kind as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
        }
    }
}

/// One workload: `mongodb = { kind = "Deployment", name = "mongodb", selector = "app=mongodb" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Deployment or StatefulSet.
    pub kind: WorkloadKind,
    /// The object's name in the namespace.
    pub name: String,
    /// The label selector of its pods, equality-based: `app=mongodb,tier=db`.
    pub selector: String,
    /// The replica count of the steady state; the count found when the run starts when unset.
    pub replicas: Option<u32>,
}

/// How a service is probed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeProtocol {
    /// A MongoDB driver `ping` with `directConnection=true`.
    Mongodb,
    /// `GET /health` answered with a 2xx.
    Http,
    /// A TCP connection is accepted.
    #[default]
    Tcp,
}

/// One service: `mongodb = { workload = "mongodb", port = 27017, protocol = "mongodb" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// The workload behind it (a key of `workloads`): port-forwards go to its ready pods.
    pub workload: String,
    /// The Service's name in the namespace; the key when unset.
    pub name: Option<String>,
    /// The Service's port.
    pub port: u16,
    /// The container port behind it, for port-forwards; `port` when unset.
    pub target_port: Option<u16>,
    /// How `probe` checks it.
    #[serde(default)]
    pub protocol: ProbeProtocol,
    /// `host:port` where the runner reaches the Service itself (a NodePort, a LoadBalancer, an
    /// address through a VPN), instead of cluster DNS or a port-forward. Unlike a port-forward,
    /// traffic through the Service is subject to NetworkPolicies.
    pub address: Option<String>,
}

impl ServiceSpec {
    /// The container port a port-forward targets.
    pub fn pod_port(&self) -> u16 {
        self.target_port.unwrap_or(self.port)
    }
}

impl KubeConfig {
    /// `request_timeout_s` as a duration: more than 0, at most [`durations::MAX`].
    pub fn request_timeout(&self) -> Result<std::time::Duration, durations::DurationError> {
        durations::from_secs_f64(
            "request_timeout_s",
            self.request_timeout_s,
            durations::Bounds::TIMEOUT,
        )
    }

    /// Checks what serde cannot: selectors parse, services name known workloads, the Focus
    /// Server service exists. The message names the key to fix.
    pub fn validate(&self, env_name: &str) -> Result<(), String> {
        let table = format!("[environments.{env_name}]");
        if self.namespace.is_empty() {
            return Err(format!("{table} namespace is empty"));
        }
        self.request_timeout().map_err(|e| format!("{table} {e}"))?;
        if self.proxy_image.trim().is_empty() {
            return Err(format!("{table} proxy_image is empty"));
        }
        let mut names = HashSet::new();
        for (key, workload) in &self.workloads {
            Selector::parse(&workload.selector).map_err(|e| {
                format!(
                    "{table} workloads.{key}.selector = {:?}: {e}",
                    workload.selector
                )
            })?;
            if !names.insert((workload.kind, workload.name.as_str())) {
                return Err(format!(
                    "{table} workloads.{key}: {} {} is mapped twice",
                    workload.kind.as_str(),
                    workload.name
                ));
            }
        }
        for (key, service) in &self.services {
            if !self.workloads.contains_key(&service.workload) {
                return Err(format!(
                    "{table} services.{key}.workload = {:?} is not a key of {table}.workloads (it has: {})",
                    service.workload,
                    self.workloads
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if self.focus_url.is_none() && !self.services.contains_key(&self.focus_service) {
            return Err(format!(
                "{table} has no focus_url and no service {:?} to port-forward to; add \
                 services.{} = {{ workload = \"focus-server\", port = 5000, protocol = \"http\" }}",
                self.focus_service, self.focus_service
            ));
        }
        Ok(())
    }

    /// The Service name of `key`.
    pub fn service_name<'a>(&'a self, key: &'a str) -> &'a str {
        self.services
            .get(key)
            .and_then(|s| s.name.as_deref())
            .unwrap_or(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> KubeConfig {
        toml::from_str(text).expect("valid config")
    }

    const EXAMPLE: &str = r#"
        namespace = "panda-system"
        [workloads]
        mongodb = { kind = "Deployment", name = "mongodb", selector = "app=mongodb" }
        focus-server = { kind = "Deployment", name = "focus-server", selector = "app=focus-server" }
        [services]
        mongodb = { workload = "mongodb", port = 27017, protocol = "mongodb" }
        focus-server = { workload = "focus-server", port = 5000, protocol = "http" }
    "#;

    #[test]
    fn the_example_parses_and_validates() {
        let config = parse(EXAMPLE);
        assert_eq!(config.workloads["mongodb"].kind, WorkloadKind::Deployment);
        assert_eq!(config.services["mongodb"].protocol, ProbeProtocol::Mongodb);
        assert_eq!(config.service_name("mongodb"), "mongodb");
        assert_eq!(config.service_access, ServiceAccess::Auto);
        config.validate("cluster").expect("valid");
    }

    #[test]
    fn a_service_of_an_unknown_workload_is_named() {
        let mut config = parse(EXAMPLE);
        config.services.get_mut("mongodb").unwrap().workload = "mongo".into();
        let err = config.validate("cluster").unwrap_err();
        assert!(
            err.contains("services.mongodb.workload = \"mongo\""),
            "{err}"
        );
    }

    #[test]
    fn a_set_based_selector_is_refused_with_the_key() {
        let mut config = parse(EXAMPLE);
        config.workloads.get_mut("mongodb").unwrap().selector = "app in (a,b)".into();
        let err = config.validate("cluster").unwrap_err();
        assert!(err.contains("workloads.mongodb.selector"), "{err}");
    }

    #[test]
    fn no_focus_access_is_refused() {
        let mut config = parse(EXAMPLE);
        config.services.remove("focus-server");
        let err = config.validate("cluster").unwrap_err();
        assert!(err.contains("no focus_url"), "{err}");
    }

    #[test]
    fn a_runner_toml_table_of_kind_kubernetes_is_this_config() {
        let text = format!(
            "[environments.cluster]\nkind = \"kubernetes\"\ncontext = \"kind-panda\"\n{}",
            EXAMPLE
                .replace("[workloads]", "[environments.cluster.workloads]")
                .replace("[services]", "[environments.cluster.services]")
        );
        let config = crate::config::RunnerConfig::parse(&text, std::path::Path::new("runner.toml"))
            .expect("parses");
        let crate::config::EnvironmentConfig::Kubernetes(kube) = &config.environments["cluster"]
        else {
            panic!("not kubernetes");
        };
        assert_eq!(kube.context.as_deref(), Some("kind-panda"));
        assert_eq!(kube.workloads.len(), 2);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<KubeConfig>("namespce = \"x\"").unwrap_err();
        assert!(err.to_string().contains("namespce"), "{err}");
    }
}
