//! The server's shared state and its life cycle: start the background tasks, serve, and shut
//! down gracefully (stop the jobs, flush their records while the database answers).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Settings;
use crate::db::records::{PendingWrite, PendingWrites};
use crate::db::{Db, DbError, recordings};
use crate::jobs::{JobRegistry, StreamPorts};
use crate::metrics::{self, Gauges, Metrics};
use crate::timefmt::now_epoch_seconds;
use crate::validation::Limits;

/// Everything the handlers share.
#[derive(Debug)]
pub struct App {
    /// The resolved settings.
    pub settings: Settings,
    /// MongoDB.
    pub db: Arc<Db>,
    /// The orchestrated jobs.
    pub jobs: JobRegistry,
    /// Record writes waiting for the database.
    pub pending: Arc<PendingWrites>,
    /// Request metrics.
    pub metrics: Metrics,
    /// When the server started.
    pub started: Instant,
    /// Whether `--seed-recordings` has written the index.
    pub seeded: AtomicBool,
}

/// The handlers' state: a cheap clone of the shared [`App`].
pub type AppState = Arc<App>;

impl App {
    /// The limits the validation rules use, with the clock read now.
    pub fn limits(&self) -> Limits {
        Limits {
            highest_channel: self.settings.channels,
            prr: self.settings.prr,
            now: now_epoch_seconds(),
        }
    }

    /// The gauges for `/metrics`.
    pub fn gauges(&self) -> Gauges {
        let gate = self.db.gate().snapshot();
        Gauges {
            db_up: gate.state == "up",
            gate_closes: gate.closes,
            jobs_running: self.jobs.running(),
            pending_writes: self.pending.len(),
            pending_dropped: self.pending.dropped(),
            pending_dead_lettered: self.pending.dead_lettered(),
            resident_bytes: metrics::resident_bytes(),
        }
    }

    /// Ready to serve. With `--seed-recordings`: once the recordings index is seeded (and from
    /// then on, whatever MongoDB does: readiness must never take the server out of its
    /// Service). Otherwise: once the first verdict on MongoDB is in (up or down), or 3 s have
    /// passed.
    pub fn is_ready(&self) -> bool {
        if self.settings.seed_recordings {
            return self.seeded.load(Ordering::Acquire);
        }
        self.db.gate().has_verdict() || self.started.elapsed() > Duration::from_secs(3)
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database client could not be built.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Serving failed.
    #[error("the HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the state (the client connects in the background).
pub async fn build(settings: Settings) -> Result<AppState, ServeError> {
    let db = Db::connect(&settings).await?;
    Ok(Arc::new(App {
        jobs: JobRegistry::new(settings.max_jobs).serving_streams(StreamPorts {
            ip: settings.listen.ip(),
            base: settings.stream_base_port,
        }),
        pending: PendingWrites::new(settings.pending_records_max),
        metrics: Metrics::default(),
        started: Instant::now(),
        seeded: AtomicBool::new(false),
        db,
        settings,
    }))
}

/// Serves on `listener` until `shutdown` completes, then stops the jobs and flushes their
/// records (for at most a few seconds).
pub async fn serve(
    app: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let ping = app.db.spawn_ping(stop_rx.clone());
    let writer = app.pending.spawn_writer(app.db.clone(), stop_rx.clone());
    if app.settings.seed_recordings {
        spawn_seeding(app.clone(), stop_rx.clone());
    }
    tracing::info!(
        listen = %listener.local_addr()?,
        mongo_uri = %app.settings.mongo_uri,
        fail_fast = app.settings.fail_fast,
        db_timeout_ms = app.settings.db_timeout.as_millis() as u64,
        "focus-server serving"
    );
    let router = crate::api::router(app.clone());
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("shutting down: stopping jobs and flushing their records");
    for record in app.jobs.stop_all() {
        app.pending.push(PendingWrite::upsert(record));
    }
    flush_pending(&app, Duration::from_secs(3)).await;
    if !app.pending.is_empty() {
        tracing::warn!(
            pending = app.pending.len(),
            "job-record writes not flushed at shutdown"
        );
    }
    let _ = stop_tx.send(true);
    let _ = tokio::join!(ping, writer);
    app.db.shutdown().await;
    Ok(())
}

/// Waits, for at most `limit`, until the writer has drained the pending job-record writes.
/// It waits while the gate is open, and also while it has no verdict yet: a server stopped
/// right after it started has not had its first ping answered, and its records would
/// otherwise be dropped although MongoDB is up. A gate closed by a verdict ends the wait.
async fn flush_pending(app: &AppState, limit: Duration) {
    let deadline = Instant::now() + limit;
    let gate = app.db.gate();
    while !app.pending.is_empty()
        && (gate.is_open() || !gate.has_verdict())
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Writes the synthetic recordings index when MongoDB is reachable, and again every 10 minutes
/// so that "the last 7 days" stays true on a long-running server.
fn spawn_seeding(app: AppState, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut gate = app.db.gate().subscribe();
        loop {
            let next = if app.db.gate().is_open() || !app.settings.fail_fast {
                match recordings::seed(&app.db, now_epoch_seconds() as i64).await {
                    Ok(n) => {
                        app.seeded.store(true, Ordering::Release);
                        tracing::info!(inserted = n, "recordings index seeded");
                        Duration::from_secs(600)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "seeding the recordings index failed; will retry");
                        Duration::from_secs(1)
                    }
                }
            } else {
                Duration::from_secs(600)
            };
            tokio::select! {
                _ = tokio::time::sleep(next) => {}
                _ = gate.changed() => {}
                _ = stop.changed() => return,
            }
        }
    });
}
