//! The database gate: the server's own verdict on whether MongoDB can take a call now.
//!
//! The driver alone cannot give that: while MongoDB is down it waits its full server
//! selection timeout on *every* operation. So the gate is fed by
//! - the driver's SDAM events: the topology gaining or losing its writable server;
//! - real calls: an infrastructure error or a missed deadline closes it;
//! - a background ping about every second, which closes it on failure and reopens it within
//!   about a second of MongoDB answering again.
//!
//! While the gate is closed, calls that need MongoDB answer 503 at once, and calls in flight
//! are abandoned (they watch [`Gate::subscribe`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::watch;

/// What last moved the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateSource {
    /// The driver's topology events.
    Topology,
    /// The background ping.
    Ping,
    /// A request's own call.
    Call,
    /// A trial ping started by a request that found the gate closed.
    Trial,
    /// Nothing yet: the first verdict is pending.
    Startup,
}

#[derive(Debug)]
struct GateState {
    reason: String,
    source: GateSource,
    since: Instant,
}

/// The open/closed state with its reason and counters.
#[derive(Debug)]
pub struct Gate {
    open: AtomicBool,
    verdict: AtomicBool,
    tx: watch::Sender<bool>,
    state: Mutex<GateState>,
    closes: AtomicU64,
    opens: AtomicU64,
    trial: AtomicBool,
    last_trial: Mutex<Option<Instant>>,
}

/// A copy of the gate's state for `/health` and metrics.
#[derive(Debug, Clone, Serialize)]
pub struct GateSnapshot {
    /// `up`, `down`, or `unknown` before the first verdict.
    pub state: &'static str,
    /// Why it is in that state.
    pub reason: String,
    /// What set that state.
    pub source: GateSource,
    /// Seconds in that state.
    pub since_seconds: f64,
    /// How many times it closed.
    pub closes: u64,
    /// How many times it (re)opened.
    pub opens: u64,
}

impl Gate {
    /// A closed gate waiting for its first verdict.
    pub fn new() -> Self {
        let (tx, _) = watch::channel(false);
        Self {
            open: AtomicBool::new(false),
            verdict: AtomicBool::new(false),
            tx,
            state: Mutex::new(GateState {
                reason: "no contact with MongoDB yet".to_owned(),
                source: GateSource::Startup,
                since: Instant::now(),
            }),
            closes: AtomicU64::new(0),
            opens: AtomicU64::new(0),
            trial: AtomicBool::new(false),
            last_trial: Mutex::new(None),
        }
    }

    /// Claims the one trial slot: `true` when no trial is in flight and none began within
    /// `interval`; the caller then runs one and calls [`Gate::end_trial`].
    pub fn begin_trial(&self, interval: std::time::Duration) -> bool {
        let mut last = self.last_trial.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < interval) || self.trial.swap(true, Ordering::AcqRel) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Frees the trial slot.
    pub fn end_trial(&self) {
        self.trial.store(false, Ordering::Release);
    }

    /// Whether MongoDB can take a call now.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Whether anything has told the gate about MongoDB yet.
    pub fn has_verdict(&self) -> bool {
        self.verdict.load(Ordering::Acquire)
    }

    /// Notes that a check happened without changing the state (a first failed check).
    pub fn note_verdict(&self) {
        self.verdict.store(true, Ordering::Release);
    }

    /// Why the gate is in its state.
    pub fn reason(&self) -> String {
        self.lock().reason.clone()
    }

    /// A receiver that sees every change (`true` = open).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }

    /// Opens the gate (no-op when open).
    pub fn open(&self, source: GateSource, reason: &str) {
        self.set(true, source, reason);
    }

    /// Closes the gate (no-op when closed, except that the first reason is kept).
    pub fn close(&self, source: GateSource, reason: &str) {
        self.set(false, source, reason);
    }

    fn set(&self, open: bool, source: GateSource, reason: &str) {
        self.verdict.store(true, Ordering::Release);
        let mut state = self.lock();
        let was = self.open.swap(open, Ordering::AcqRel);
        if was == open && state.source != GateSource::Startup {
            return;
        }
        *state = GateState {
            reason: reason.to_owned(),
            source,
            since: Instant::now(),
        };
        drop(state);
        if open {
            self.opens.fetch_add(1, Ordering::Relaxed);
            tracing::info!(target: "focus_server::db", ?source, reason, "database gate opened");
        } else {
            self.closes.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target: "focus_server::db", ?source, reason, "database gate closed");
        }
        self.tx.send_replace(open);
    }

    /// The state for reports.
    pub fn snapshot(&self) -> GateSnapshot {
        let state = self.lock();
        GateSnapshot {
            state: match (self.has_verdict(), self.is_open()) {
                (false, _) => "unknown",
                (true, true) => "up",
                (true, false) => "down",
            },
            reason: state.reason.clone(),
            source: state.source,
            since_seconds: state.since.elapsed().as_secs_f64(),
            closes: self.closes.load(Ordering::Relaxed),
            opens: self.opens.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_counts_transitions_not_repeats() {
        let gate = Gate::new();
        assert_eq!(gate.snapshot().state, "unknown");
        gate.open(GateSource::Topology, "writable server");
        gate.open(GateSource::Ping, "ping answered");
        assert!(gate.is_open());
        gate.close(GateSource::Call, "timeout");
        gate.close(GateSource::Ping, "ping failed");
        let snap = gate.snapshot();
        assert_eq!((snap.state, snap.opens, snap.closes), ("down", 1, 1));
        assert_eq!(snap.reason, "timeout");
    }

    #[test]
    fn a_first_failed_check_is_a_verdict() {
        let gate = Gate::new();
        gate.close(GateSource::Ping, "refused");
        let snap = gate.snapshot();
        assert_eq!(
            (snap.state, snap.reason.as_str(), snap.closes),
            ("down", "refused", 1)
        );
    }

    #[test]
    fn one_trial_at_a_time_and_not_too_often() {
        let gate = Gate::new();
        let interval = std::time::Duration::from_secs(3600);
        assert!(gate.begin_trial(std::time::Duration::ZERO));
        assert!(
            !gate.begin_trial(std::time::Duration::ZERO),
            "one in flight"
        );
        gate.end_trial();
        assert!(gate.begin_trial(std::time::Duration::ZERO));
        gate.end_trial();
        assert!(!gate.begin_trial(interval), "too soon after the last one");
    }

    #[tokio::test]
    async fn subscribers_see_the_gate_close() {
        let gate = Gate::new();
        gate.open(GateSource::Topology, "up");
        let mut rx = gate.subscribe();
        gate.close(GateSource::Ping, "down");
        rx.changed().await.unwrap();
        assert!(!*rx.borrow());
    }
}
