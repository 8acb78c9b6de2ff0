//! Port-forwards the runner opens itself, so that nobody has to start `kubectl port-forward`:
//! a listener on `127.0.0.1:0`, and for each connection accepted there a kube `Portforwarder`
//! to a ready pod of the service's workload, as `kubectl port-forward svc/NAME` does.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Pod as KubePod;
use tokio::io::DuplexStream;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::env::{EnvError, EnvResult};

use super::client::Cluster;
use super::errors::{Call, error_chain};
use super::pods;
use super::rbac;
use super::workloads::Workload;

/// What a forward points at.
#[derive(Debug, Clone)]
pub struct Target {
    /// The workload whose ready pods serve it.
    pub workload: Workload,
    /// The Service's name, for messages.
    pub service: String,
    /// The Service's port, for messages.
    pub service_port: u16,
    /// The container port forwarded to.
    pub pod_port: u16,
}

impl Target {
    /// `svc/focus-server:5000 in panda-system`.
    pub fn describe(&self, namespace: &str) -> String {
        format!("svc/{}:{} in {namespace}", self.service, self.service_port)
    }
}

/// A local listener forwarding to the target's ready pods; stops when dropped.
pub struct Forward {
    /// Where to connect: `127.0.0.1:<port>`.
    pub local: SocketAddr,
    connector: Arc<Connector>,
    accept_loop: JoinHandle<()>,
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl Forward {
    /// Binds `127.0.0.1:0` and starts forwarding. Pods are resolved per connection, so a
    /// deleted pod's replacement is used as soon as it is ready.
    pub async fn open(cluster: Cluster, target: Target) -> EnvResult<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
            EnvError::Failed(format!(
                "cannot bind 127.0.0.1:0 for a port-forward to {}: {e}",
                target.service
            ))
        })?;
        let local = listener
            .local_addr()
            .map_err(|e| EnvError::Failed(e.to_string()))?;
        let connector = Arc::new(Connector {
            cluster,
            target,
            pod: Mutex::new(None),
        });
        let accept_loop = tokio::spawn(accept(listener, connector.clone()));
        Ok(Self {
            local,
            connector,
            accept_loop,
        })
    }

    /// Opens one stream to a ready pod now: a check that says what fails, if anything does.
    pub async fn check(&self) -> EnvResult<String> {
        let (pod, _stream, _forwarder) = self.connector.connect().await?;
        Ok(pod)
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.connector.target
    }
}

struct Connector {
    cluster: Cluster,
    target: Target,
    /// The pod the last connection went to.
    pod: Mutex<Option<String>>,
}

impl Connector {
    /// A ready pod: the last one while it stays ready (a `get`), else the oldest ready one.
    async fn pod(&self) -> EnvResult<String> {
        let cached = self.pod.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(name) = cached
            && pods::still_ready(&self.cluster, &name).await?
        {
            return Ok(name);
        }
        let found = pods::first_ready(&self.cluster, &self.target.workload).await?;
        *self.pod.lock().unwrap_or_else(|p| p.into_inner()) = found.clone();
        found.ok_or_else(|| {
            EnvError::Failed(format!(
                "no ready pod of {} ({}) to forward to: the Service has no endpoints",
                self.target.workload.object(),
                self.target.workload.selector
            ))
        })
    }

    /// A port-forward stream to a ready pod.
    async fn connect(&self) -> EnvResult<(String, DuplexStream, kube::api::Portforwarder)> {
        let pod = self.pod().await?;
        let call = Call::on(rbac::CREATE_POD_PORTFORWARD, &self.cluster.namespace, &pod);
        let api = self.cluster.api::<KubePod>();
        let port = self.target.pod_port;
        let mut forwarder = call
            .run(self.cluster.timeout, api.portforward(&pod, &[port]))
            .await
            .map_err(|e| match e {
                EnvError::NotPermitted(m) => EnvError::NotPermitted(format!(
                    "{m}; a WebSocket port-forward is an HTTP GET, so the Role needs {} as well",
                    rbac::GET_POD_PORTFORWARD.as_role_rule()
                )),
                other => other,
            })?;
        let stream = forwarder.take_stream(port).ok_or_else(|| {
            EnvError::Failed(format!("port-forward to pod/{pod}:{port} gave no stream"))
        })?;
        if let Some(error) = forwarder.take_error(port) {
            let pod_name = pod.clone();
            tokio::spawn(async move {
                if let Some(message) = error.await {
                    tracing::warn!("port-forward to pod/{pod_name}:{port}: {message}");
                }
            });
        }
        Ok((pod, stream, forwarder))
    }
}

async fn accept(listener: TcpListener, connector: Arc<Connector>) {
    loop {
        let Ok((conn, _)) = listener.accept().await else {
            continue;
        };
        let connector = connector.clone();
        tokio::spawn(async move { forward_one(conn, &connector).await });
    }
}

async fn forward_one(mut conn: TcpStream, connector: &Connector) {
    match connector.connect().await {
        Ok((pod, mut stream, forwarder)) => {
            if let Err(e) = tokio::io::copy_bidirectional(&mut conn, &mut stream).await {
                tracing::debug!("port-forward to pod/{pod}: {e}");
            }
            drop(stream);
            if let Err(e) = forwarder.join().await {
                tracing::debug!("port-forward to pod/{pod} ended: {}", error_chain(&e));
            }
        }
        Err(e) => {
            tracing::warn!(
                "port-forward to {}: {e}",
                connector.target.describe(&connector.cluster.namespace)
            );
        }
    }
}
