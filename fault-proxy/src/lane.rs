//! One direction of a proxied connection: bytes read from one socket, shaped by the lane's
//! chain of faults, and written to the other socket when their time comes.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use tokio::net::TcpStream;

use crate::fault::{FaultId, FaultKind};
use crate::shape::{Piece, StageState, later, shape};

/// The most bytes a lane holds between reading and writing; past it, it stops reading and the
/// sender is held back by TCP's own flow control.
const MAX_BUFFERED: usize = 256 * 1024;
/// The most pieces a lane holds (a slow bandwidth cuts data into many small pieces).
const MAX_PIECES: usize = 1024;
/// The size of one read.
const READ_SIZE: usize = 16 * 1024;

/// What the faults in place ask of one lane.
#[derive(Debug, Clone, Default)]
pub(crate) struct LanePlan {
    /// The data-shaping faults, in the order they were added.
    pub chain: Vec<(FaultId, FaultKind)>,
    /// Nothing moves: no reading, no writing, no close.
    pub blackhole: bool,
    /// How long a close waits before it is passed on.
    pub slow_close: Duration,
}

/// Why a lane woke up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Its source has bytes (or its end).
    Readable,
    /// Its destination takes bytes, and a piece is due.
    Writable,
    /// A piece or a delayed close is due.
    Due,
}

/// One direction of a connection.
pub(crate) struct Lane {
    /// Pieces waiting for their time, in order.
    out: VecDeque<Piece>,
    /// Bytes in `out`.
    buffered: usize,
    /// The source has closed its side.
    eof: bool,
    /// The close has been passed on to the destination.
    shut: bool,
    /// When a slow close passes the close on.
    close_at: Option<Instant>,
    /// A data limit was reached: the connection closes once `out` is written.
    limit_reached: bool,
    /// The state of each shaping stage.
    stages: HashMap<FaultId, StageState>,
    read_buf: Box<[u8]>,
}

impl Lane {
    /// An empty lane.
    pub fn new() -> Self {
        Self {
            out: VecDeque::new(),
            buffered: 0,
            eof: false,
            shut: false,
            close_at: None,
            limit_reached: false,
            stages: HashMap::new(),
            read_buf: vec![0; READ_SIZE].into_boxed_slice(),
        }
    }

    /// The source closed, everything was written and the close passed on.
    pub fn done(&self) -> bool {
        self.shut
    }

    /// A data limit was reached and every byte before it written: close the connection.
    pub fn limit_closed(&self) -> bool {
        self.limit_reached && self.out.is_empty()
    }

    /// Waits until the lane can move. Cancel-safe: it only waits for readiness and time; the
    /// reading and writing happen in [`Lane::act`].
    pub async fn wait(
        &self,
        src: &TcpStream,
        dst: &TcpStream,
        plan: &LanePlan,
    ) -> io::Result<Wake> {
        let now = Instant::now();
        let can_read = !self.eof
            && !plan.blackhole
            && !self.limit_reached
            && self.buffered < MAX_BUFFERED
            && self.out.len() < MAX_PIECES;
        let due = (!plan.blackhole)
            .then(|| self.out.front().map(|p| p.at))
            .flatten();
        let close = self.close_at.filter(|_| !plan.blackhole && !self.shut);
        let wake_at = [due.filter(|&t| t > now), close]
            .into_iter()
            .flatten()
            .min();
        tokio::select! {
            ready = src.readable(), if can_read => ready.map(|()| Wake::Readable),
            ready = dst.writable(), if due.is_some_and(|t| t <= now) => ready.map(|()| Wake::Writable),
            () = sleep_until(wake_at) => Ok(Wake::Due),
        }
    }

    /// Moves what `wake` says can move, then passes the close on if it is time.
    pub fn act(
        &mut self,
        wake: Wake,
        src: &TcpStream,
        dst: &TcpStream,
        plan: &LanePlan,
        rng: &mut impl Rng,
    ) -> io::Result<()> {
        match wake {
            Wake::Readable => self.read(src, plan, rng)?,
            Wake::Writable => self.write(dst)?,
            Wake::Due => {}
        }
        if !plan.blackhole {
            self.close_when_drained(dst, plan.slow_close);
        }
        Ok(())
    }

    fn read(&mut self, src: &TcpStream, plan: &LanePlan, rng: &mut impl Rng) -> io::Result<()> {
        match src.try_read(&mut self.read_buf) {
            Ok(0) => self.eof = true,
            Ok(n) => {
                let piece = Piece {
                    data: Bytes::copy_from_slice(&self.read_buf[..n]),
                    at: Instant::now(),
                };
                let shaped = shape(&plan.chain, &mut self.stages, piece, rng);
                self.limit_reached |= shaped.limit_reached;
                self.buffered += shaped.pieces.iter().map(|p| p.data.len()).sum::<usize>();
                self.out.extend(shaped.pieces);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Writes every piece that is due, until the destination would block.
    fn write(&mut self, dst: &TcpStream) -> io::Result<()> {
        let now = Instant::now();
        while let Some(front) = self.out.front_mut().filter(|p| p.at <= now) {
            match dst.try_write(&front.data) {
                Ok(n) => {
                    let _ = front.data.split_to(n);
                    self.buffered -= n;
                    if front.data.is_empty() {
                        self.out.pop_front();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Passes the source's close on once every piece is written, `slow_close` later.
    fn close_when_drained(&mut self, dst: &TcpStream, slow_close: Duration) {
        if !self.eof || self.shut || !self.out.is_empty() {
            return;
        }
        let now = Instant::now();
        let at = *self.close_at.get_or_insert_with(|| later(now, slow_close));
        if at <= now {
            self.shut = true;
            // SAFETY: shutdown(2) on a socket `dst` owns and keeps open.
            unsafe {
                libc::shutdown(dst.as_raw_fd(), libc::SHUT_WR);
            }
        }
    }
}

/// Sleeps until `at`, or for ever when there is nothing to wait for.
pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
