//! A Kubernetes API server double for the kube backend's tests: a small axum server on
//! 127.0.0.1 that serves exactly the endpoints the backend uses, with Kubernetes' JSON shapes,
//! status codes (403 Forbidden from a configurable Role, 404 NotFound, 409 Conflict and
//! AlreadyExists), resourceVersions and watches, and the semantics that matter: a controller
//! that creates pods after a delay and makes them ready after another, terminating pods,
//! NetworkPolicies stored and listed by label, the `/scale` subresource, PodMetrics, discovery
//! and `/version` (it claims Kubernetes 1.37.0), SelfSubjectAccessReviews answered from the
//! Role, and port-forwards to real local processes standing in for the pods' containers: over
//! WebSocket (`v4.channel.k8s.io`, kube-rs) and as SPDY tunnelled in a WebSocket (kubectl).
//! The real kubectl runs against it (kube_kubectl.rs). A Service double ([`ServiceProxy`]) gives in-"cluster" clients the effect
//! of endpoints and NetworkPolicies.
#![allow(dead_code)]

mod collections;
mod controller;
pub mod discovery;
pub mod fixture;
mod portforward;
mod routes;
mod service_proxy;
mod spdy;
pub mod store;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;

pub use service_proxy::ServiceProxy;
use store::{Kind, Store};

/// The pod annotation naming the local address a port-forward to the pod connects to.
pub const BACKEND_ANNOTATION: &str = "api-double/backend";
/// The pod annotation naming the local address a Service double sends the pod's traffic to,
/// when it differs from the port-forward's (a process serving two ports).
pub const SERVICE_BACKEND_ANNOTATION: &str = "api-double/service-backend";
/// A pod annotation that keeps the pod from ever getting ready, as a crash-looping image.
pub const NEVER_READY_ANNOTATION: &str = "api-double/never-ready";
/// The pod annotation with the memory usage PodMetrics reports, such as `51200Ki`.
pub const MEMORY_ANNOTATION: &str = "api-double/memory";

/// Delays of the double's controllers.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// From a missing pod to its replacement's creation.
    pub create: Duration,
    /// From a pod's creation to its readiness.
    pub ready: Duration,
    /// From a pod's deletion to its removal (the grace period).
    pub terminate: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            create: Duration::from_millis(150),
            ready: Duration::from_millis(300),
            terminate: Duration::from_millis(200),
        }
    }
}

/// A Role: verbs by `(apiGroup, resource)`, where resource may carry a subresource.
#[derive(Debug, Clone, Default)]
pub struct Role(pub BTreeMap<(String, String), BTreeSet<String>>);

impl Role {
    /// Grants `verbs` on `resource` of `group`.
    pub fn grant(mut self, group: &str, resource: &str, verbs: &[&str]) -> Self {
        self.0
            .entry((group.into(), resource.into()))
            .or_default()
            .extend(verbs.iter().map(|v| v.to_string()));
        self
    }

    /// Withdraws `verb` on `resource` of `group`.
    pub fn revoke(mut self, group: &str, resource: &str, verb: &str) -> Self {
        if let Some(verbs) = self.0.get_mut(&(group.into(), resource.into())) {
            verbs.remove(verb);
        }
        self
    }

    /// Whether the Role allows it.
    pub fn allows(&self, group: &str, resource: &str, verb: &str) -> bool {
        self.0
            .get(&(group.into(), resource.into()))
            .is_some_and(|v| v.contains(verb) || v.contains("*"))
    }
}

/// The shared state of the double.
pub struct State {
    pub store: Mutex<Store>,
    /// Tells watches and the controller that something changed.
    pub changed: tokio::sync::watch::Sender<u64>,
    pub wake_controller: Notify,
    pub role: Mutex<Option<Role>>,
    pub metrics_served: AtomicBool,
    pub timing: Timing,
    pub requests: Mutex<Vec<String>>,
    /// Pods being created, by workload.
    pub pending: Mutex<HashMap<(Kind, String, String), usize>>,
    /// The user requests are made as, for messages.
    pub user: String,
}

impl State {
    /// Runs `f` on the store; when it changed anything, wakes the watches and the controller.
    pub fn mutate<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let (out, before, after) = {
            let mut store = self.store.lock().unwrap();
            let before = store.rv();
            let out = f(&mut store);
            (out, before, store.rv())
        };
        if after != before {
            self.changed.send_replace(after);
            self.wake_controller.notify_one();
        }
        out
    }

    /// Reads the store.
    pub fn read<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.store.lock().unwrap())
    }
}

/// A running API double; stops when dropped.
pub struct ApiDouble {
    pub state: Arc<State>,
    pub addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for ApiDouble {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl ApiDouble {
    /// Starts a double with the default timing on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        Self::start_with(Timing::default()).await
    }

    /// Starts a double with `timing`.
    pub async fn start_with(timing: Timing) -> Self {
        let state = Arc::new(State {
            store: Mutex::new(Store::default()),
            changed: tokio::sync::watch::channel(0).0,
            wake_controller: Notify::new(),
            role: Mutex::new(None),
            metrics_served: AtomicBool::new(true),
            timing,
            requests: Mutex::new(Vec::new()),
            pending: Mutex::new(HashMap::new()),
            user: "system:serviceaccount:panda-system:scenario-runner".into(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let app = routes::router(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the API double serves");
        });
        let controller = tokio::spawn(controller::run(state.clone()));
        Self {
            state,
            addr,
            tasks: vec![server, controller],
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes a kubeconfig whose current context points at the double.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: double\n  cluster:\n    server: {}\n\
             users:\n- name: runner\n  user:\n    token: runner-token\ncontexts:\n- name: double\n  \
             context:\n    cluster: double\n    user: runner\n    namespace: panda-system\n\
             current-context: double\n",
            self.url()
        );
        std::fs::write(&path, text).expect("write the kubeconfig");
        path
    }

    /// Adds a Deployment (or StatefulSet) whose pods carry `labels`; port-forwards to its pods
    /// reach `backend`.
    pub fn add_workload(
        &self,
        kind: Kind,
        name: &str,
        labels: &[(&str, &str)],
        replicas: u32,
        backend: Option<SocketAddr>,
    ) {
        let labels: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let mut annotations = serde_json::Map::new();
        if let Some(addr) = backend {
            annotations.insert(BACKEND_ANNOTATION.into(), json!(addr.to_string()));
        }
        annotations.insert(MEMORY_ANNOTATION.into(), json!("51200Ki"));
        let object = json!({
            "metadata": { "name": name, "labels": labels },
            "spec": {
                "replicas": replicas,
                "selector": { "matchLabels": labels },
                "template": {
                    "metadata": { "labels": labels, "annotations": annotations },
                    "spec": { "containers": [{ "name": name, "image": format!("example.com/{name}:test") }] }
                }
            },
            "status": {}
        });
        self.state
            .mutate(|s| s.create(kind, "panda-system", object))
            .expect("a new workload");
    }

    /// Pods created from now on whose first container runs `image` stand for a local process:
    /// port-forwards to them reach `port_forward`, a Service double's traffic `service`.
    pub fn run_image(&self, image: &str, port_forward: SocketAddr, service: Option<SocketAddr>) {
        self.state.mutate(|s| {
            s.image_backends.insert(
                image.to_owned(),
                (port_forward.to_string(), service.map(|a| a.to_string())),
            )
        });
    }

    /// Adds a Service named `name` selecting `selector`, with one port `port` to `target_port`.
    pub fn add_service(&self, name: &str, selector: &[(&str, &str)], port: u16, target_port: u16) {
        let selector: serde_json::Map<String, Value> = selector
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        self.create(
            store::SERVICES,
            json!({
                "metadata": { "name": name },
                "spec": {
                    "type": "ClusterIP", "clusterIP": "10.96.0.17", "clusterIPs": ["10.96.0.17"],
                    "selector": selector,
                    "ports": [{ "name": "main", "protocol": "TCP", "port": port, "targetPort": target_port }],
                },
                "status": { "loadBalancer": {} },
            }),
        );
    }

    /// Restricts requests to `role`; `None` allows everything.
    pub fn set_role(&self, role: Option<Role>) {
        *self.state.role.lock().unwrap() = role;
    }

    /// Serves (or stops serving) metrics.k8s.io.
    pub fn serve_metrics(&self, served: bool) {
        self.state.metrics_served.store(served, Ordering::SeqCst);
    }

    /// The object, if any.
    pub fn get(&self, kind: Kind, name: &str) -> Option<Value> {
        self.state
            .read(|s| s.get(kind, "panda-system", name).cloned())
    }

    /// The objects of `kind`.
    pub fn list(&self, kind: Kind) -> Vec<Value> {
        self.state.read(|s| s.list(kind, "panda-system"))
    }

    /// Stores `object` as a client would create it.
    pub fn create(&self, kind: Kind, object: Value) -> Value {
        self.state
            .mutate(|s| s.create(kind, "panda-system", object))
            .expect("a new object")
    }

    /// Changes the object `name` with a merge patch, as another client would.
    pub fn patch(&self, kind: Kind, name: &str, patch: Value) {
        self.state.mutate(|s| {
            let mut object = s
                .get(kind, "panda-system", name)
                .cloned()
                .expect("the object exists");
            store::merge_patch(&mut object, &patch);
            s.update(kind, "panda-system", name, object);
        });
    }

    /// Starts a Service double for the workload `name` in front of `backend`.
    pub async fn service(&self, kind: Kind, name: &str, backend: SocketAddr) -> ServiceProxy {
        ServiceProxy::start(self.state.clone(), kind, name, backend).await
    }

    /// Every request so far, as `VERB /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The names of the ready, non-terminating pods whose name starts with `prefix`.
    pub fn ready_pods(&self, prefix: &str) -> Vec<String> {
        self.list(store::PODS)
            .iter()
            .filter(|p| {
                controller::is_ready(p) && p.pointer("/metadata/deletionTimestamp").is_none()
            })
            .filter_map(|p| {
                p.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .filter(|n| n.starts_with(prefix))
            .collect()
    }

    /// Waits until `condition` holds on the double's state, at most `timeout`.
    pub async fn wait_for(&self, what: &str, timeout: Duration, condition: impl Fn(&Self) -> bool) {
        let mut changes = self.state.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        while !condition(self) {
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                panic!("timed out after {timeout:?} waiting for {what}");
            }
        }
    }
}

/// The Role the backend's RBAC table asks for: what `deploy/rbac.yaml` must grant (the
/// manifest test checks that it does). Running the backend's tests under it proves the backend
/// calls nothing else.
pub fn backend_role() -> Role {
    scenario_runner::env::kube::rbac::ALL
        .iter()
        .fold(Role::default(), |role, rule| {
            role.grant(rule.group(), rule.resource(), &[rule.verb()])
        })
}

/// A stand-in container process answering `GET /health` with 200, for port-forward tests that
/// do not need the real Focus Server.
pub async fn health_backend() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(|| async { axum::Json(json!({ "status": "ok" })) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap();
    (
        addr,
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serves") }),
    )
}

/// The `[environments.cluster]` table for a double, as runner.toml would have it.
pub fn environment_toml(kubeconfig: &Path, extra: &str) -> String {
    format!(
        r#"kind = "kubernetes"
namespace = "panda-system"
kubeconfig = "{}"
request_timeout_s = 5
{extra}
[workloads]
mongodb = {{ kind = "Deployment", name = "mongodb", selector = "app=mongodb" }}
focus-server = {{ kind = "Deployment", name = "focus-server", selector = "app=focus-server" }}

[services]
mongodb = {{ workload = "mongodb", port = 27017, protocol = "mongodb" }}
focus-server = {{ workload = "focus-server", port = 5000, protocol = "http" }}
"#,
        kubeconfig.display()
    )
}

/// A whole `runner.toml` whose environment `cluster` is the double's.
pub fn runner_toml(kubeconfig: &Path, extra: &str) -> String {
    let table = environment_toml(kubeconfig, extra)
        .replace("[workloads]", "[environments.cluster.workloads]")
        .replace("[services]", "[environments.cluster.services]");
    format!("default_environment = \"cluster\"\n\n[environments.cluster]\n{table}")
}
