//! The Service: a stable `127.0.0.1:<service_port>` in front of a workload's ready pods, and the
//! place where network faults happen.
//!
//! - Ready pods: new connections are forwarded round-robin to them.
//! - No ready pod: nothing listens, so connections are refused (a Service without endpoints).
//! - `Blackhole`: new connections are accepted but never answered, and existing ones stop
//!   moving bytes with their sockets left open, so clients time out (a NetworkPolicy that drops).
//! - `Refuse`: existing connections are reset and new ones refused.
//!
//! The port stays reserved while nothing listens: a socket bound with `SO_REUSEPORT` but never
//! listening holds it (connections to it are refused), and the listener joins it when needed.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::env::BlockMode;

/// What the service forwards to, and how it is blocked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceState {
    /// The ports of the ready pods.
    pub endpoints: Vec<u16>,
    /// The network fault in place, if any.
    pub block: Option<BlockMode>,
}

impl ServiceState {
    fn listens(&self) -> bool {
        !self.endpoints.is_empty() && self.block != Some(BlockMode::Refuse)
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

/// One client connection: held while blackholed, then forwarded to the next endpoint.
async fn connection(
    client: TcpStream,
    mut state: watch::Receiver<ServiceState>,
    round_robin: &AtomicUsize,
) {
    loop {
        let block = state.borrow_and_update().block;
        match block {
            Some(BlockMode::Refuse) => return reset(&client),
            Some(BlockMode::Blackhole) => {
                if hold(&mut state, &client).await.is_err() {
                    return reset(&client);
                }
            }
            None => break,
        }
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
    if forward(&client, &backend, state).await.is_err() {
        reset(&client);
        reset(&backend);
    }
}

/// Closes `stream` with a reset (SO_LINGER 0) instead of an orderly FIN.
fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

/// Bytes read from one side and not yet written to the other.
struct Pending {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
}

impl Pending {
    fn new() -> Self {
        Self {
            buf: vec![0; 16 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
        }
    }

    fn done(&self) -> bool {
        self.eof && self.start == self.end
    }

    /// Moves bytes one step from `from` to `to`. Cancel-safe: it waits only in `readable` and
    /// `writable`, and reads or writes only in the synchronous `try_` calls after them.
    async fn step(&mut self, from: &TcpStream, to: &TcpStream) -> std::io::Result<()> {
        if self.start < self.end {
            to.writable().await?;
            match to.try_write(&self.buf[self.start..self.end]) {
                Ok(n) => self.start += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        } else if !self.eof {
            from.readable().await?;
            match from.try_read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    // Pass the half-close on.
                    // SAFETY: shutdown(2) on a socket `to` owns and keeps open.
                    unsafe {
                        libc::shutdown(to.as_raw_fd(), libc::SHUT_WR);
                    }
                }
                Ok(n) => (self.start, self.end) = (0, n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        } else {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

/// Copies both ways until both sides are done. While blackholed nothing moves (the sockets stay
/// open, so the client waits); on `Refuse`, or when the service goes, both sides are reset.
async fn forward(
    client: &TcpStream,
    backend: &TcpStream,
    mut state: watch::Receiver<ServiceState>,
) -> std::io::Result<()> {
    let (mut up, mut down) = (Pending::new(), Pending::new());
    while !(up.done() && down.done()) {
        let block = state.borrow_and_update().block;
        match block {
            Some(BlockMode::Refuse) => return Err(std::io::ErrorKind::ConnectionReset.into()),
            Some(BlockMode::Blackhole) => {
                hold(&mut state, client).await?;
                continue;
            }
            None => {}
        }
        tokio::select! {
            changed = state.changed() => changed.map_err(|_| std::io::ErrorKind::ConnectionAborted)?,
            moved = up.step(client, backend) => moved?,
            moved = down.step(backend, client) => moved?,
        }
    }
    Ok(())
}

/// Waits, moving no bytes, until the service's state changes. Fails when the state's sender is
/// gone, or when the client has given up (its FIN or RST arrived), so that a long blackhole
/// does not pile up the connections of clients that timed out.
async fn hold(
    state: &mut watch::Receiver<ServiceState>,
    client: &TcpStream,
) -> std::io::Result<()> {
    loop {
        tokio::select! {
            changed = state.changed() => {
                return changed.map_err(|_| std::io::ErrorKind::ConnectionAborted.into());
            }
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                if peer_gone(client) {
                    return Err(std::io::ErrorKind::ConnectionAborted.into());
                }
            }
        }
    }
}

/// Whether the peer of `stream` has closed or reset it, from the kernel's TCP state: unlike a
/// read, this does not consume (or need to buffer) bytes the client sent while held.
fn peer_gone(stream: &TcpStream) -> bool {
    const TCP_CLOSE: u8 = 7;
    const TCP_CLOSE_WAIT: u8 = 8;
    // SAFETY: getsockopt(TCP_INFO) writes at most `len` bytes into a zeroed tcp_info.
    let state = unsafe {
        let mut info: libc::tcp_info = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let fd = stream.as_raw_fd();
        let info_ptr = (&mut info as *mut libc::tcp_info).cast();
        if libc::getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_INFO, info_ptr, &mut len) != 0 {
            return true;
        }
        info.tcpi_state
    };
    state == TCP_CLOSE || state == TCP_CLOSE_WAIT
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
