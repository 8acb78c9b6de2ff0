//! MongoDB: the client, the gate that makes calls fail fast, and the collections the server
//! uses (the recordings index and the job records).

mod clients;
pub mod gate;
pub mod recordings;
pub mod records;

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::Database;
use mongodb::bson::doc;
use mongodb::error::ErrorKind;
use mongodb::options::ClientOptions;

use tokio::sync::watch;

use crate::config::Settings;
use clients::Clients;
pub use clients::TRIAL_TIMEOUT;
pub use gate::{Gate, GateSnapshot, GateSource};

/// How often the background ping runs.
pub const PING_INTERVAL: Duration = Duration::from_secs(1);
/// How long a ping may take before the gate closes.
pub const PING_TIMEOUT: Duration = Duration::from_millis(1200);
/// While the gate is closed, a request that finds it closed starts a trial ping in the
/// background (one at a time, at most one per this interval): the half-open gate.
pub const TRIAL_INTERVAL: Duration = Duration::from_millis(100);

/// Why a database call gave no result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    /// MongoDB cannot be reached (gate closed, deadline missed, network or selection error).
    #[error("database unavailable: {reason}")]
    Unavailable {
        /// One line: what failed.
        reason: String,
        /// The driver's full message, when there is one.
        detail: Option<String>,
    },
    /// MongoDB answered with an error that may pass (a retry can succeed).
    #[error("database error: {0}")]
    Failed(String),
    /// The document can never be stored (it cannot be encoded as BSON, it is too large, or
    /// MongoDB refuses its content): retrying cannot help.
    #[error("the document cannot be stored: {0}")]
    Rejected(String),
}

impl DbError {
    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, DbError::Rejected(_))
    }

    /// What failed, without the kind's prefix: the reason the gate keeps.
    pub fn reason(&self) -> &str {
        match self {
            DbError::Unavailable { reason, .. } => reason,
            DbError::Failed(message) | DbError::Rejected(message) => message,
        }
    }
}

/// Server error codes that say the document itself is wrong: BadValue, FailedToParse,
/// TypeMismatch, InvalidBSON, DollarPrefixedFieldName, InvalidDBRef, EmptyFieldName,
/// DocumentValidationFailure, BSONObjectTooLarge, KeyTooLong, and "document too large" on
/// update.
const PERMANENT_CODES: [i32; 11] = [2, 9, 14, 22, 52, 55, 56, 121, 10334, 17280, 17419];

/// How calls are bounded.
#[derive(Debug, Clone, Copy)]
pub struct CallPolicy {
    /// Gate, per-call deadline and abandon-on-close on.
    pub fail_fast: bool,
    /// The deadline of one call.
    pub call_deadline: Duration,
}

/// The client, its gate and its call policy.
#[derive(Debug)]
pub struct Db {
    clients: Arc<Clients>,
    gate: Arc<Gate>,
    policy: CallPolicy,
}

impl Db {
    /// Builds the client (it connects lazily, in the background). In fail-fast mode the driver
    /// timeouts come from `--db-timeout` (2 s by default); with `--fail-fast off` they are the
    /// driver's own (30 s selection, 10 s connect) when `--db-timeout 30s`.
    pub async fn connect(settings: &Settings) -> Result<Arc<Self>, DbError> {
        let mut options = ClientOptions::parse(&settings.mongo_uri)
            .await
            .map_err(|e| DbError::Unavailable {
                reason: format!(
                    "cannot use the MongoDB URI {}: {}",
                    settings.mongo_uri,
                    one_line(&e.to_string())
                ),
                detail: None,
            })?;
        let gate = Arc::new(Gate::new());
        options.app_name = Some("focus-server".to_owned());
        options.direct_connection = Some(options.direct_connection.unwrap_or(true));
        options.server_selection_timeout = Some(settings.db_timeout);
        options.connect_timeout = Some(settings.connect_timeout());
        if settings.fail_fast {
            options.heartbeat_freq = Some(Duration::from_secs(1));
        }
        let clients = Arc::new(Clients::new(options, &settings.database, gate.clone())?);
        let policy = CallPolicy {
            fail_fast: settings.fail_fast,
            call_deadline: settings.call_deadline(),
        };
        Ok(Arc::new(Self {
            clients,
            gate,
            policy,
        }))
    }

    /// The gate.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Which client is current: 0 for the first; a trial that answers replaces it with a
    /// newer one.
    pub fn client_generation(&self) -> u64 {
        self.clients.current().generation
    }

    /// The call policy.
    pub fn policy(&self) -> CallPolicy {
        self.policy
    }

    /// The configured database (`prisma` by default) on the current client.
    pub fn database(&self) -> Database {
        self.clients.current().database
    }

    /// Fails at once when fail-fast is on and the gate is closed; then also starts a trial
    /// ping in the background (see [`Db::trial`]).
    pub fn check_gate(&self) -> Result<(), DbError> {
        if self.policy.fail_fast && !self.gate.is_open() {
            self.trial();
            return Err(DbError::Unavailable {
                reason: self.gate.reason(),
                detail: None,
            });
        }
        Ok(())
    }

    /// Runs one database call `what` under the policy: in fail-fast mode it is refused when the
    /// gate is closed, bounded by the call deadline (and by `until`, the request's own budget),
    /// and abandoned when the gate closes meanwhile; an infrastructure error or a missed
    /// deadline closes the gate. Without fail-fast it is simply awaited.
    pub async fn call<T>(
        &self,
        what: &str,
        until: Option<Instant>,
        fut: impl IntoFuture<Output = mongodb::error::Result<T>>,
    ) -> Result<T, DbError> {
        let fut = fut.into_future();
        if !self.policy.fail_fast {
            return fut.await.map_err(|e| classify(what, &e));
        }
        self.check_gate()?;
        let generation = self.clients.current().generation;
        let started = Instant::now();
        let mut deadline = started + self.policy.call_deadline;
        if let Some(until) = until {
            deadline = deadline.min(until);
        }
        let mut gate_rx = self.gate.subscribe();
        let outcome = tokio::select! {
            result = fut => result.map_err(|e| classify(what, &e)),
            () = tokio::time::sleep_until(deadline.into()) => {
                let allowed = deadline.saturating_duration_since(started).as_secs_f64();
                Err(DbError::Unavailable { reason: format!("no answer from MongoDB to {what} within {allowed:.1} s"), detail: None })
            }
            () = gate_closed(&mut gate_rx) => {
                return Err(DbError::Unavailable { reason: format!("{what} abandoned: {}", self.gate.reason()), detail: None });
            }
        };
        if let Err(DbError::Unavailable { reason, .. }) = &outcome
            && self.clients.is_current(generation)
        {
            self.gate.close(GateSource::Call, reason);
        }
        outcome
    }

    /// The half-open gate: while it is closed, demand starts a trial in the background (one
    /// in flight, at most one per [`TRIAL_INTERVAL`]): a fresh client's first check and a ping
    /// through it, within [`TRIAL_TIMEOUT`]. On an answer the fresh client replaces the current
    /// one and the gate reopens. The request that found the gate closed still gets its 503 at
    /// once, so trials cost no latency, and the gate reopens within a trial of MongoDB coming
    /// back instead of at the current client's next check (at most one per 500 ms in the
    /// driver) or the next 1 s ping. A failed trial changes nothing.
    pub fn trial(&self) {
        if !self.gate.begin_trial(TRIAL_INTERVAL) {
            return;
        }
        let (clients, gate) = (self.clients.clone(), self.gate.clone());
        tokio::spawn(async move {
            if clients.trial().await {
                gate.open(GateSource::Trial, "a trial client's ping answered");
            }
            gate.end_trial();
        });
    }

    /// One ping of the current client with [`PING_TIMEOUT`]: `Ok` when MongoDB answered.
    pub async fn ping(&self) -> Result<(), DbError> {
        ping_database(&self.database()).await
    }
}

/// One ping of `database` with [`PING_TIMEOUT`].
async fn ping_database(database: &Database) -> Result<(), DbError> {
    let ping = database.run_command(doc! { "ping": 1 });
    match tokio::time::timeout(PING_TIMEOUT, ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(classify("ping", &e)),
        Err(_) => Err(DbError::Unavailable {
            reason: format!("ping: no answer within {} ms", PING_TIMEOUT.as_millis()),
            detail: None,
        }),
    }
}

impl Db {
    /// Pings about every second until `shutdown`: success opens the gate, failure closes it.
    pub fn spawn_ping(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let db = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PING_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.changed() => return,
                }
                let current = db.clients.current();
                match ping_database(&current.database).await {
                    Ok(()) => db.gate.open(GateSource::Ping, "ping answered"),
                    // A client replaced meanwhile says nothing about MongoDB now.
                    Err(_) if !db.clients.is_current(current.generation) => {}
                    Err(e) => db.gate.close(GateSource::Ping, e.reason()),
                }
            }
        })
    }

    /// Closes the client's connections.
    pub async fn shutdown(&self) {
        self.clients.current().client.shutdown().await;
    }
}

async fn gate_closed(rx: &mut watch::Receiver<bool>) {
    loop {
        if !*rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Infrastructure errors (cannot reach MongoDB) become `Unavailable`; errors in the document
/// itself `Rejected`; the rest `Failed`.
fn classify(what: &str, e: &mongodb::error::Error) -> DbError {
    let text = e.to_string();
    if is_permanent(e) {
        return DbError::Rejected(format!("{what}: {}", one_line(&text)));
    }
    match e.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => DbError::Unavailable {
            reason: format!("{what} failed: {}", first_clause(&text)),
            detail: Some(text),
        },
        _ if e.contains_label("NetworkError") => DbError::Unavailable {
            reason: format!("{what} failed: {}", first_clause(&text)),
            detail: Some(text),
        },
        _ => DbError::Failed(format!("{what}: {}", one_line(&text))),
    }
}

/// Whether `e` is about the document, not about MongoDB's state: encoding errors, invalid
/// arguments (a document over the size limit), and write or command errors of
/// [`PERMANENT_CODES`] that are not labelled retryable.
pub fn is_permanent(e: &mongodb::error::Error) -> bool {
    use mongodb::error::WriteFailure;
    if e.contains_label("RetryableWriteError") || e.contains_label("NetworkError") {
        return false;
    }
    match e.kind.as_ref() {
        ErrorKind::BsonSerialization(_)
        | ErrorKind::BsonDeserialization(_)
        | ErrorKind::InvalidArgument { .. } => true,
        ErrorKind::Write(WriteFailure::WriteError(w)) => PERMANENT_CODES.contains(&w.code),
        ErrorKind::Command(c) => PERMANENT_CODES.contains(&c.code),
        _ => false,
    }
}

/// The text up to the driver's topology dump, on one line, at most 200 characters.
fn first_clause(text: &str) -> String {
    let head = text.split(", Topology:").next().unwrap_or(text);
    let head = head.split(". Topology:").next().unwrap_or(head);
    one_line(head)
}

/// `text` on one line, at most 200 characters.
pub fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 200 {
        format!("{}…", line.chars().take(200).collect::<String>())
    } else {
        line
    }
}
