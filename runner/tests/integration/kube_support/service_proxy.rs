//! A Service double: a stable 127.0.0.1 address in front of a workload's real backend process,
//! with the effects kube-proxy and a NetworkPolicy have on in-cluster clients:
//! - no ready pod: no endpoints, so connections are refused (the listener is closed), and open
//!   connections are reset, as their pod died;
//! - a NetworkPolicy selecting the pods with `policyTypes: [Ingress]` and no rule: new
//!   connections get no answer and open ones stall (blackhole).
//!
//! - when a Service object of the workload's name exists and its selector picks ready pods
//!   that carry [`SERVICE_BACKEND_ANNOTATION`] (pods of an image the test runs as a local
//!   process, such as the fault proxy), new connections go to that process instead.
//!
//! Port-forwards do not go through it: on a real node they enter the pod's network namespace
//! directly and NetworkPolicies do not apply to them.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;

use super::controller::is_ready;
use super::store::{self, Kind, NETWORKPOLICIES, PODS, SERVICES};
use super::{SERVICE_BACKEND_ANNOTATION, State};

/// What the Service does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwarding to the backend.
    Serving,
    /// Dropping packets.
    Blocked,
    /// Refusing: no ready endpoint.
    NoEndpoints,
}

/// A running Service double; stops when dropped.
pub struct ServiceProxy {
    /// The Service's address.
    pub addr: SocketAddr,
    /// Its mode, as it changes.
    pub mode: watch::Receiver<Mode>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for ServiceProxy {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(64)
}

impl ServiceProxy {
    /// Starts the Service of the workload `kind`/`name` in front of `backend`.
    pub async fn start(state: Arc<State>, kind: Kind, name: &str, backend: SocketAddr) -> Self {
        let listener = bind("127.0.0.1:0".parse().unwrap()).expect("bind a service port");
        let addr = listener.local_addr().unwrap();
        let (mode_tx, mode) = watch::channel(current_mode(&state, kind, name));
        let monitor = {
            let (state, name) = (state.clone(), name.to_owned());
            tokio::spawn(async move {
                let mut changes = state.changed.subscribe();
                loop {
                    mode_tx.send_if_modified(|m| {
                        let now = current_mode(&state, kind, &name);
                        std::mem::replace(m, now) != now
                    });
                    if changes.changed().await.is_err() {
                        return;
                    }
                }
            })
        };
        let route = Route {
            state: state.clone(),
            service: name.to_owned(),
            backend,
        };
        let server = tokio::spawn(serve(Some(listener), addr, route, mode.clone()));
        Self {
            addr,
            mode,
            tasks: vec![monitor, server],
        }
    }
}

fn current_mode(state: &State, kind: Kind, name: &str) -> Mode {
    state.read(|s| {
        let Some(workload) = s.get(kind, "panda-system", name) else {
            return Mode::NoEndpoints;
        };
        let selector = workload
            .pointer("/spec/selector/matchLabels")
            .cloned()
            .unwrap_or(json!({}));
        let template =
            json!({ "metadata": { "labels": workload.pointer("/spec/template/metadata/labels") } });
        let ready = s.list(PODS, "panda-system").iter().any(|p| {
            store::selects(&selector, p)
                && is_ready(p)
                && p.pointer("/metadata/deletionTimestamp").is_none()
        });
        let blocked = s
            .list(NETWORKPOLICIES, "panda-system")
            .iter()
            .any(|policy| denies_ingress(policy, &template));
        match (ready, blocked) {
            (false, _) => Mode::NoEndpoints,
            (true, true) => Mode::Blocked,
            (true, false) => Mode::Serving,
        }
    })
}

/// Whether `policy` selects `pod` and allows it no ingress at all.
fn denies_ingress(policy: &Value, pod: &Value) -> bool {
    let selects = policy
        .pointer("/spec/podSelector/matchLabels")
        .is_some_and(|m| store::selects(m, pod))
        || policy
            .pointer("/spec/podSelector")
            .is_some_and(|s| s.as_object().is_some_and(|o| o.is_empty()));
    let ingress_type = policy
        .pointer("/spec/policyTypes")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|t| t == "Ingress"));
    let no_rules = policy
        .pointer("/spec/ingress")
        .and_then(Value::as_array)
        .is_none_or(|r| r.is_empty());
    selects && ingress_type && no_rules
}

/// Where a new connection goes: the workload's backend, unless the Service object of its name
/// selects ready pods that stand for another local process.
#[derive(Clone)]
struct Route {
    state: Arc<State>,
    service: String,
    backend: SocketAddr,
}

impl Route {
    fn now(&self) -> SocketAddr {
        self.state.read(|s| {
            let selector = s
                .get(SERVICES, "panda-system", &self.service)
                .and_then(|svc| svc.pointer("/spec/selector").cloned());
            let Some(selector) = selector else {
                return self.backend;
            };
            let pointer = format!(
                "/metadata/annotations/{}",
                SERVICE_BACKEND_ANNOTATION.replace('/', "~1")
            );
            s.list(PODS, "panda-system")
                .iter()
                .filter(|p| store::selects(&selector, p) && is_ready(p))
                .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
                .find_map(|p| p.pointer(&pointer).and_then(Value::as_str)?.parse().ok())
                .unwrap_or(self.backend)
        })
    }
}

async fn serve(
    mut listener: Option<tokio::net::TcpListener>,
    addr: SocketAddr,
    route: Route,
    mut mode: watch::Receiver<Mode>,
) {
    loop {
        let now = *mode.borrow_and_update();
        match (now, &listener) {
            (Mode::NoEndpoints, Some(_)) => listener = None,
            (Mode::NoEndpoints, None) | (Mode::Blocked, Some(_)) => {
                if mode.changed().await.is_err() {
                    return;
                }
            }
            (_, None) => match bind(addr) {
                Ok(l) => listener = Some(l),
                Err(e) => panic!("the service double cannot bind {addr} again: {e}"),
            },
            (Mode::Serving, Some(l)) => tokio::select! {
                accepted = l.accept() => if let Ok((conn, _)) = accepted {
                    tokio::spawn(forward(conn, route.now(), mode.clone()));
                },
                changed = mode.changed() => if changed.is_err() { return },
            },
        }
    }
}

/// Forwards one connection while serving; stalls while blocked; resets when the endpoints go.
async fn forward(client: TcpStream, backend: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let Ok(server) = TcpStream::connect(backend).await else {
        return;
    };
    let (mut client_rd, mut client_wr) = client.into_split();
    let (mut server_rd, mut server_wr) = server.into_split();
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    loop {
        let now = *mode.borrow_and_update();
        match now {
            Mode::NoEndpoints => return reset(client_rd, client_wr),
            Mode::Blocked => {
                if mode.changed().await.is_err() {
                    return;
                }
                continue;
            }
            Mode::Serving => {}
        }
        tokio::select! {
            n = client_rd.read(&mut up) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => if !gate(&mut mode).await || server_wr.write_all(&up[..n]).await.is_err() { return },
            },
            n = server_rd.read(&mut down) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => if !gate(&mut mode).await || client_wr.write_all(&down[..n]).await.is_err() { return },
            },
            changed = mode.changed() => if changed.is_err() { return },
        }
    }
}

/// Waits while blocked; `false` when the endpoints went away.
async fn gate(mode: &mut watch::Receiver<Mode>) -> bool {
    loop {
        let now = *mode.borrow_and_update();
        match now {
            Mode::Serving => return true,
            Mode::NoEndpoints => return false,
            Mode::Blocked => {
                if mode.changed().await.is_err() {
                    return false;
                }
            }
        }
    }
}

/// Closes with a RST, as a dead pod's connections end.
fn reset(read: tokio::net::tcp::OwnedReadHalf, write: tokio::net::tcp::OwnedWriteHalf) {
    if let Ok(stream) = read.reunite(write) {
        let _ = stream.set_zero_linger();
    }
}
