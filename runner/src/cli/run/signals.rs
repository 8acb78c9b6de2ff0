//! SIGINT and SIGTERM during a run.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::Context as _;

use crate::engine::Interrupt;

/// SIGINT and SIGTERM: the first interrupts the running guest and ends the run after its
/// rollback; later ones only say that the rollback is still going.
pub(super) struct Signals {
    pub(super) interrupt: Interrupt,
    received: Arc<AtomicI32>,
}

impl Signals {
    pub(super) fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut sigint =
            signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
        let mut sigterm =
            signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
        let interrupt = Interrupt::default();
        let received = Arc::new(AtomicI32::new(0));
        let (flag, seen) = (interrupt.clone(), received.clone());
        tokio::spawn(async move {
            loop {
                let signal = tokio::select! {
                    _ = sigint.recv() => libc::SIGINT,
                    _ = sigterm.recv() => libc::SIGTERM,
                };
                let name = if signal == libc::SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                if seen
                    .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    crate::errln!(
                        "\n{name}: interrupting the scenario, restoring the environment, writing the report …"
                    );
                    flag.trigger();
                } else {
                    crate::errln!(
                        "{name}: still restoring the environment; the run ends when the rollback has finished"
                    );
                }
            }
        });
        Ok(Self {
            interrupt,
            received,
        })
    }

    pub(super) fn received(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(signal),
        }
    }
}
