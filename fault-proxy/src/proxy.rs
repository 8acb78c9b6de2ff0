//! A standalone fault proxy: one listener in front of one upstream address.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::fault::{ActiveFault, Fault, FaultError, FaultId};
use crate::pipe::{Conditions, Gate, admit, pipe, reset};
use crate::table::FaultTable;

/// How long connecting to the upstream may take before the client is reset.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ProxyState {
    gate: Gate,
    faults: FaultTable,
}

impl Conditions for ProxyState {
    fn gate(&self) -> Gate {
        self.gate
    }

    fn faults(&self) -> &[ActiveFault] {
        self.faults.faults()
    }
}

/// A TCP proxy from a listening address to one upstream, with faults. Dropping it stops
/// listening and resets every connection.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    state: watch::Sender<ProxyState>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on `listen` (port 0 picks a free one) and forwards each connection to
    /// `upstream`. Must be called within a tokio runtime.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr) -> io::Result<Self> {
        Self::start_to(listen, upstream.to_string()).await
    }

    /// Like [`Proxy::start`], to `upstream` as `host:port`, resolved anew for each connection
    /// (a headless Service's name, whose addresses change as its pods do).
    pub async fn start_to(listen: SocketAddr, upstream: String) -> io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let state = watch::Sender::new(ProxyState::default());
        let task = tokio::spawn(accept_loop(listener, upstream, state.subscribe()));
        Ok(Self { addr, state, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds `fault` after the others; it acts on open connections and new ones.
    pub fn add_fault(&self, fault: Fault) -> Result<FaultId, FaultError> {
        let mut added = Err(FaultError::NotFound(0));
        self.state.send_if_modified(|s| {
            added = s.faults.add(fault);
            added.is_ok()
        });
        added
    }

    /// Adds `fault` after the others under `id` (from [`crate::next_id`] or a caller's own
    /// numbering); an id already in place is refused.
    pub fn insert_fault(&self, id: FaultId, fault: Fault) -> Result<(), FaultError> {
        let mut added = Err(FaultError::NotFound(id));
        self.state.send_if_modified(|s| {
            added = s.faults.insert(id, fault);
            added.is_ok()
        });
        added
    }

    /// Removes fault `id`.
    pub fn remove_fault(&self, id: FaultId) -> Result<Fault, FaultError> {
        let mut removed = Err(FaultError::NotFound(id));
        self.state.send_if_modified(|s| {
            removed = s.faults.remove(id);
            removed.is_ok()
        });
        removed
    }

    /// The faults in place, oldest first.
    pub fn faults(&self) -> Vec<ActiveFault> {
        self.state.borrow().faults.faults().to_vec()
    }

    /// Sets the gate in front of every connection.
    pub fn set_gate(&self, gate: Gate) {
        self.state
            .send_if_modified(|s| std::mem::replace(&mut s.gate, gate) != gate);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: String, state: watch::Receiver<ProxyState>) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                tokio::spawn(connection(client, upstream.clone(), state.clone()));
            }
            // Out of descriptors and the like: try again shortly.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn connection(client: TcpStream, upstream: String, mut state: watch::Receiver<ProxyState>) {
    let opened = Instant::now();
    if admit(&client, &mut state).await.is_err() {
        return reset(&client);
    }
    let server =
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(upstream.as_str())).await {
            Ok(Ok(server)) => server,
            _ => return reset(&client),
        };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    if pipe(&client, &server, state, opened).await.is_err() {
        reset(&client);
        reset(&server);
    }
}

#[cfg(test)]
#[path = "proxy_tests.rs"]
mod tests;
