//! The Service: a stable `127.0.0.1:<service_port>` in front of a workload's ready pods, and the
//! place where network faults happen.
//!
//! - Ready pods: new connections are forwarded round-robin to them.
//! - No ready pod: nothing listens, so connections are refused (a Service without endpoints).
//! - `Blackhole`: new connections are accepted but never answered, and existing ones stop
//!   moving bytes with their sockets left open, so clients time out (a NetworkPolicy that drops).
//! - `Refuse`: existing connections are reset and new ones refused.
//! - Faults (`fault_proxy`): latency, bandwidth, blackhole, reset, slow close, slicer and data
//!   limits, per direction and toxicity, on open connections and new ones, in the order added.
//!
//! The port stays reserved while nothing listens: a socket bound with `SO_REUSEPORT` but never
//! listening holds it (connections to it are refused), and the listener joins it when needed.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fault_proxy::{ActiveFault, Conditions, Fault, FaultError, FaultId, FaultTable, Gate, reset};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::env::BlockMode;

/// What the service forwards to, and how it is blocked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceState {
    /// The ports of the ready pods.
    pub endpoints: Vec<u16>,
    /// The block in place, if any: the shorthand that cuts the whole service off.
    pub block: Option<BlockMode>,
    /// The faults in place, in the order they act.
    pub faults: FaultTable,
}

impl ServiceState {
    fn listens(&self) -> bool {
        !self.endpoints.is_empty() && self.block != Some(BlockMode::Refuse)
    }
}

impl Conditions for ServiceState {
    fn gate(&self) -> Gate {
        match self.block {
            None => Gate::Open,
            Some(BlockMode::Blackhole) => Gate::Hold,
            Some(BlockMode::Refuse) => Gate::Reset,
        }
    }

    fn faults(&self) -> &[ActiveFault] {
        self.faults.faults()
    }
}

/// A workload's service. Dropping it stops listening and ends every connection.
#[derive(Debug)]
pub struct Service {
    port: u16,
    state: watch::Sender<ServiceState>,
    listener: Mutex<Option<Acceptor>>,
    last_error: Mutex<Option<String>>,
    round_robin: Arc<AtomicUsize>,
    open_connections: Arc<AtomicUsize>,
    _reservation: TcpSocket,
}

#[derive(Debug)]
struct Acceptor {
    fd: i32,
    task: JoinHandle<()>,
}

impl Service {
    /// Reserves `127.0.0.1:port`. `key` names the setting, for the error when it is in use.
    pub fn reserve(port: u16, key: &str) -> Result<Self, String> {
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let in_use = |e: std::io::Error| {
            format!(
                "port {port} ({key}) is in use ({e}); stop what listens there or change {key} in runner.toml"
            )
        };
        // Without SO_REUSEPORT this bind fails if anything else holds the port, including another
        // runner's reservation; SO_REUSEADDR lets it ignore connections in TIME_WAIT.
        let probe = TcpSocket::new_v4().map_err(in_use)?;
        probe.set_reuseaddr(true).map_err(in_use)?;
        probe.bind(addr).map_err(in_use)?;
        drop(probe);
        let reservation = TcpSocket::new_v4().map_err(in_use)?;
        reservation.set_reuseport(true).map_err(in_use)?;
        reservation.bind(addr).map_err(in_use)?;
        Ok(Self {
            port,
            state: watch::Sender::new(ServiceState::default()),
            listener: Mutex::new(None),
            last_error: Mutex::new(None),
            round_robin: Arc::new(AtomicUsize::new(0)),
            open_connections: Arc::new(AtomicUsize::new(0)),
            _reservation: reservation,
        })
    }

    /// The service's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The endpoints and block now.
    pub fn state(&self) -> ServiceState {
        self.state.borrow().clone()
    }

    /// Whether something listens on the port now.
    pub fn is_listening(&self) -> bool {
        self.listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Connections being forwarded or held now.
    pub fn open_connections(&self) -> usize {
        self.open_connections.load(Ordering::Relaxed)
    }

    /// Why the service could not listen when it should have, if it could not.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forwards to `ports` from now on. Must be called within a tokio runtime.
    pub fn set_endpoints(&self, ports: Vec<u16>) {
        self.state
            .send_if_modified(|s| std::mem::replace(&mut s.endpoints, ports) != s.endpoints);
        self.apply();
    }

    /// Puts a network fault in place, or lifts it with `None`. Must be called within a tokio
    /// runtime.
    pub fn set_block(&self, block: Option<BlockMode>) {
        self.state
            .send_if_modified(|s| std::mem::replace(&mut s.block, block) != s.block);
        self.apply();
    }

    /// Adds `fault` after the others under `id` (from `fault_proxy::next_id`); it acts on open
    /// connections and new ones.
    pub fn add_fault(&self, id: FaultId, fault: Fault) -> Result<(), FaultError> {
        let mut added = Ok(());
        self.state.send_if_modified(|s| {
            added = s.faults.insert(id, fault);
            added.is_ok()
        });
        added
    }

    /// Removes fault `id`; `NotFound` when it is not on this service.
    pub fn remove_fault(&self, id: FaultId) -> Result<Fault, FaultError> {
        let mut removed = Err(FaultError::NotFound(id));
        self.state.send_if_modified(|s| {
            removed = s.faults.remove(id);
            removed.is_ok()
        });
        removed
    }

    /// Starts or stops listening to match the state.
    fn apply(&self) {
        let listens = self.state.borrow().listens();
        let mut listener = self.listener.lock().unwrap_or_else(|e| e.into_inner());
        if listens && listener.is_none() {
            match self.listen() {
                Ok(acceptor) => {
                    *listener = Some(acceptor);
                    *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                }
                Err(e) => {
                    *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(format!("cannot listen on 127.0.0.1:{}: {e}", self.port));
                }
            }
        } else if !listens && let Some(acceptor) = listener.take() {
            acceptor.stop();
        }
    }

    fn listen(&self) -> std::io::Result<Acceptor> {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(true)?;
        socket.bind(([127, 0, 0, 1], self.port).into())?;
        let listener = socket.listen(1024)?;
        let fd = listener.as_raw_fd();
        let task = tokio::spawn(accept_loop(
            listener,
            self.state.subscribe(),
            self.round_robin.clone(),
            self.open_connections.clone(),
        ));
        Ok(Acceptor { fd, task })
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let listener = self
            .listener
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(acceptor) = listener {
            acceptor.stop();
        }
        // Connections see the state's sender go and reset.
    }
}

impl Acceptor {
    /// Stops listening now: the socket is shut down here (new connections are refused from this
    /// moment), then its task is ended, which closes it.
    fn stop(self) {
        // SAFETY: the accept task owns this descriptor and never closes it before being aborted,
        // which happens only after this call.
        unsafe {
            libc::shutdown(self.fd, libc::SHUT_RDWR);
        }
        self.task.abort();
    }
}

/// Accepts until aborted; never returns by itself, so the descriptor outlives `apply`'s use.
async fn accept_loop(
    listener: TcpListener,
    state: watch::Receiver<ServiceState>,
    round_robin: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                let (state, round_robin, open) = (state.clone(), round_robin.clone(), open.clone());
                open.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    connection(client, state, &round_robin).await;
                    open.fetch_sub(1, Ordering::Relaxed);
                });
            }
            // Out of descriptors and the like: try again shortly.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// One client connection: held while blackholed, then forwarded to the next endpoint through
/// the faults in place.
async fn connection(
    client: TcpStream,
    mut state: watch::Receiver<ServiceState>,
    round_robin: &AtomicUsize,
) {
    let opened = Instant::now();
    if fault_proxy::admit(&client, &mut state).await.is_err() {
        return reset(&client);
    }
    let endpoints = state.borrow().endpoints.clone();
    let first = round_robin.fetch_add(1, Ordering::Relaxed);
    let mut backend = None;
    for i in 0..endpoints.len() {
        let addr = SocketAddr::from(([127, 0, 0, 1], endpoints[(first + i) % endpoints.len()]));
        if let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await
        {
            backend = Some(stream);
            break;
        }
    }
    let Some(backend) = backend else {
        return reset(&client);
    };
    let _ = client.set_nodelay(true);
    let _ = backend.set_nodelay(true);
    if fault_proxy::pipe(&client, &backend, state, opened)
        .await
        .is_err()
    {
        reset(&client);
        reset(&backend);
    }
}

/// `blackhole` or `refuse`, as messages and `env status` write a block.
pub fn block_name(mode: BlockMode) -> &'static str {
    match mode {
        BlockMode::Blackhole => "blackhole",
        BlockMode::Refuse => "refuse",
    }
}

#[cfg(test)]
#[path = "proxy_tests.rs"]
mod tests;
