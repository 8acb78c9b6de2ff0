//! The MongoDB clients: the current one, which every call uses, and the fresh ones that trials
//! build while the gate is closed.
//!
//! Why fresh clients: after MongoDB failed, the driver's monitor checks it again at most every
//! 500 ms (its minimum heartbeat interval), however often a call asks, so the current client
//! can take half a second to notice that MongoDB is back. A new client checks at once. A trial
//! therefore builds one, waits for its first check (a failed check ends the trial at once, so
//! the next can start), pings through it, and on an answer makes it the current client. The
//! old client is dropped; the driver closes it once the calls still holding it end.
//!
//! Each client is built with a generation number. Only the current generation's topology
//! events move the gate, and only its failures close it, so a late answer of a replaced client
//! cannot close a gate that a newer one opened.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use mongodb::event::EventHandler;
use mongodb::event::sdam::SdamEvent;
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};
use tokio::sync::watch;

use super::gate::{Gate, GateSource};
use super::{DbError, one_line, ping_database};

/// How long a trial waits for its fresh client's first check and ping. A trial is only an
/// accelerator: when MongoDB is farther away than this, the background ping still reopens the
/// gate.
pub const TRIAL_TIMEOUT: Duration = Duration::from_millis(300);

/// One client, its database and its generation.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    /// The client.
    pub client: Client,
    /// The configured database on it.
    pub database: Database,
    /// Its generation.
    pub generation: u64,
}

/// The current client, and what building another one takes.
#[derive(Debug)]
pub(crate) struct Clients {
    options: ClientOptions,
    name: String,
    gate: Arc<Gate>,
    live: Arc<AtomicU64>,
    built: AtomicU64,
    current: RwLock<Current>,
}

impl Clients {
    /// Builds the first client (generation 0), which connects in the background.
    pub fn new(options: ClientOptions, name: &str, gate: Arc<Gate>) -> Result<Self, DbError> {
        let live = Arc::new(AtomicU64::new(0));
        let (client, _) = build(&options, &gate, &live, 0)?;
        let current = Current {
            database: client.database(name),
            client,
            generation: 0,
        };
        Ok(Self {
            options,
            name: name.to_owned(),
            gate,
            live,
            built: AtomicU64::new(1),
            current: RwLock::new(current),
        })
    }

    /// The current client.
    pub fn current(&self) -> Current {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether `generation` is still the current client's.
    pub fn is_current(&self, generation: u64) -> bool {
        self.live.load(Ordering::Acquire) == generation
    }

    /// One trial: a fresh client's first check, then a ping through it, within
    /// [`TRIAL_TIMEOUT`]. On an answer the fresh client becomes the current one and `true`
    /// comes back; otherwise it is dropped and nothing changes.
    pub async fn trial(&self) -> bool {
        let generation = self.built.fetch_add(1, Ordering::Relaxed);
        let Ok((client, mut checked)) = build(&self.options, &self.gate, &self.live, generation)
        else {
            return false;
        };
        let database = client.database(&self.name);
        let answered = tokio::time::timeout(TRIAL_TIMEOUT, async {
            let writable = checked
                .wait_for(Option::is_some)
                .await
                .is_ok_and(|v| *v == Some(true));
            writable && ping_database(&database).await.is_ok()
        })
        .await
        .unwrap_or(false);
        if !answered {
            return false;
        }
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        *current = Current {
            client,
            database,
            generation,
        };
        self.live.store(generation, Ordering::Release);
        true
    }
}

/// Builds client `generation`; the receiver gets its first check's verdict (`true`: a writable
/// server).
fn build(
    options: &ClientOptions,
    gate: &Arc<Gate>,
    live: &Arc<AtomicU64>,
    generation: u64,
) -> Result<(Client, watch::Receiver<Option<bool>>), DbError> {
    let (tx, rx) = watch::channel(None);
    let mut options = options.clone();
    options.sdam_event_handler = Some(handler(gate.clone(), live.clone(), generation, tx));
    let client =
        Client::with_options(options).map_err(|e| DbError::Failed(one_line(&e.to_string())))?;
    Ok((client, rx))
}

/// The SDAM handler of client `me`: it reports the first check to `checked`, and moves the gate
/// while `me` is the current client.
fn handler(
    gate: Arc<Gate>,
    live: Arc<AtomicU64>,
    me: u64,
    checked: watch::Sender<Option<bool>>,
) -> EventHandler<SdamEvent> {
    EventHandler::callback(move |event| match event {
        SdamEvent::TopologyDescriptionChanged(change) => {
            let was = change.previous_description.has_writable_server();
            let now = change.new_description.has_writable_server();
            if now {
                checked.send_replace(Some(true));
            }
            if live.load(Ordering::Acquire) != me {
                return;
            }
            match (was, now) {
                (_, true) => gate.open(GateSource::Topology, "the topology has a writable server"),
                (true, false) => gate.close(
                    GateSource::Topology,
                    "the topology lost its writable server",
                ),
                // Unknown → Unknown: a failed check, no transition; still a verdict.
                (false, false) => gate.note_verdict(),
            }
        }
        SdamEvent::ServerHeartbeatFailed(_) => {
            checked.send_if_modified(|v| v.is_none() && v.replace(false).is_none());
        }
        _ => {}
    })
}
