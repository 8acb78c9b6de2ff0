//! One proxied connection: both lanes in one task, re-planned whenever the faults change.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::fault::{ActiveFault, Direction, FaultId, FaultKind};
use crate::lane::{Lane, LanePlan, sleep_until};
use crate::shape::later;

/// How often a connection held by a blackhole checks whether its client gave up.
const GIVE_UP_CHECK: Duration = Duration::from_millis(250);

/// What a connection does before any fault: the shorthand blocks of a whole service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Gate {
    /// Bytes move, through the faults.
    #[default]
    Open,
    /// Nothing moves; sockets stay open, so clients time out.
    Hold,
    /// Connections are reset.
    Reset,
}

/// The state a proxy's connections follow: a gate and the faults in place.
pub trait Conditions: Send + Sync + 'static {
    /// The gate now.
    fn gate(&self) -> Gate;
    /// The faults in place, oldest first.
    fn faults(&self) -> &[ActiveFault];
}

/// Waits until the gate lets a new connection through to its server: at once when open,
/// after a hold is lifted, never when it resets (an error, so the caller resets the client).
/// Fails too when the client gives up while held, or when the state's sender goes.
pub async fn admit<C: Conditions>(
    client: &TcpStream,
    state: &mut watch::Receiver<C>,
) -> io::Result<()> {
    loop {
        let gate = state.borrow_and_update().gate();
        match gate {
            Gate::Open => return Ok(()),
            Gate::Reset => return Err(io::ErrorKind::ConnectionReset.into()),
            Gate::Hold => hold(state, client).await?,
        }
    }
}

/// Moves bytes both ways between `client` and `server` through the faults of `state`, until
/// both sides have closed (`Ok`), a data limit closes the connection (`Ok`), or the connection
/// must end abruptly (`Err`: the caller resets both sockets). `opened` is when the client
/// connected, for `reset-peer`.
pub async fn pipe<C: Conditions>(
    client: &TcpStream,
    server: &TcpStream,
    mut state: watch::Receiver<C>,
    opened: Instant,
) -> io::Result<()> {
    let mut toxicity = Toxicity::default();
    let (mut up, mut down) = (Lane::new(), Lane::new());
    loop {
        let (gate, plan) = {
            let now = state.borrow_and_update();
            (now.gate(), toxicity.plan(now.faults(), opened))
        };
        match gate {
            Gate::Reset => return Err(io::ErrorKind::ConnectionReset.into()),
            Gate::Hold => {
                hold(&mut state, client).await?;
                continue;
            }
            Gate::Open => {}
        }
        let mut next_check = Instant::now() + GIVE_UP_CHECK;
        loop {
            if plan.reset_at.is_some_and(|t| t <= Instant::now()) {
                return Err(io::ErrorKind::ConnectionReset.into());
            }
            if (up.done() && down.done()) || up.limit_closed() || down.limit_closed() {
                return Ok(());
            }
            let held = plan.up.blackhole || plan.down.blackhole;
            tokio::select! {
                changed = state.changed() => {
                    changed.map_err(|_| io::ErrorKind::ConnectionAborted)?;
                    break;
                }
                wake = up.wait(client, server, &plan.up) => {
                    up.act(wake?, client, server, &plan.up, &mut toxicity.rng)?;
                }
                wake = down.wait(server, client, &plan.down) => {
                    down.act(wake?, server, client, &plan.down, &mut toxicity.rng)?;
                }
                () = sleep_until(plan.reset_at) => {}
                () = sleep_until(held.then_some(next_check)) => {
                    if peer_gone(client) {
                        return Err(io::ErrorKind::ConnectionAborted.into());
                    }
                    next_check = Instant::now() + GIVE_UP_CHECK;
                }
            }
        }
    }
}

/// What the faults ask of one connection.
#[derive(Debug, Default)]
struct Plan {
    up: LanePlan,
    down: LanePlan,
    reset_at: Option<Instant>,
}

/// Which faults affect this connection, each decided once, when the connection first meets it.
struct Toxicity {
    affected: HashMap<FaultId, bool>,
    rng: SmallRng,
}

impl Default for Toxicity {
    fn default() -> Self {
        Self {
            affected: HashMap::new(),
            rng: SmallRng::from_rng(&mut rand::rng()),
        }
    }
}

impl Toxicity {
    fn plan(&mut self, faults: &[ActiveFault], opened: Instant) -> Plan {
        let mut plan = Plan::default();
        for active in faults {
            let (rng, toxicity) = (&mut self.rng, active.fault.toxicity);
            let affected = *self
                .affected
                .entry(active.id)
                .or_insert_with(|| rng.random_range(0..100u8) < toxicity);
            if !affected {
                continue;
            }
            let direction = active.fault.direction;
            for (way, lane) in [
                (Direction::Upstream, &mut plan.up),
                (Direction::Downstream, &mut plan.down),
            ] {
                if direction.covers(way) {
                    add_to_lane(lane, active.id, &active.fault.kind);
                }
            }
            if let FaultKind::ResetPeer { after } = active.fault.kind {
                let at = later(opened, after);
                plan.reset_at = Some(plan.reset_at.map_or(at, |t| t.min(at)));
            }
        }
        plan
    }
}

fn add_to_lane(lane: &mut LanePlan, id: FaultId, kind: &FaultKind) {
    match kind {
        FaultKind::Blackhole => lane.blackhole = true,
        FaultKind::SlowClose { delay } => lane.slow_close = lane.slow_close.saturating_add(*delay),
        // A reset ends the whole connection, whichever way it was asked for.
        FaultKind::ResetPeer { .. } => {}
        shaping => lane.chain.push((id, shaping.clone())),
    }
}

/// Waits, moving no bytes, until the state changes. Fails when the state's sender is gone,
/// or when the client has given up (its FIN or RST arrived), so that a long blackhole does not
/// pile up the connections of clients that timed out.
async fn hold<C: Conditions>(state: &mut watch::Receiver<C>, client: &TcpStream) -> io::Result<()> {
    loop {
        tokio::select! {
            changed = state.changed() => {
                return changed.map_err(|_| io::ErrorKind::ConnectionAborted.into());
            }
            () = tokio::time::sleep(GIVE_UP_CHECK) => {
                if peer_gone(client) {
                    return Err(io::ErrorKind::ConnectionAborted.into());
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

/// Closes `stream` with a reset (SO_LINGER 0) instead of an orderly FIN, once it is dropped.
pub fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}
