//! The jobs' stream ports: slot `n` listens on `base + n`, bound when its job starts.

use std::net::IpAddr;

use super::{Inner, JobRegistry, StartError};
use crate::stream::BoundPort;

/// Where jobs serve their data streams: `ip`, port `base + slot`.
#[derive(Debug, Clone, Copy)]
pub struct StreamPorts {
    /// The address to bind.
    pub ip: IpAddr,
    /// The port of slot 0.
    pub base: u16,
}

impl JobRegistry {
    /// A free slot whose stream port binds (oldest freed first, then new ones), trying every
    /// slot at most once: a port held by another process (another Focus Server on the same
    /// base, say) or by a just-stopped job whose server is still closing is skipped, and goes
    /// back to the end of the free list. A failed bind costs microseconds, so even a range
    /// mostly held elsewhere is scanned well inside a request's budget.
    pub(super) fn claim_slot(
        &self,
        inner: &mut Inner,
    ) -> Result<(usize, Option<BoundPort>), StartError> {
        let mut busy = Vec::new();
        let mut last_error = None;
        let claimed = loop {
            if busy.len() >= self.max_jobs {
                break None;
            }
            let slot = match inner.free_slots.pop_front() {
                Some(slot) => slot,
                None if inner.next_slot < self.max_jobs => {
                    inner.next_slot += 1;
                    inner.next_slot - 1
                }
                None => break None,
            };
            match self.bind(slot) {
                Ok(bound) => break Some((slot, bound)),
                Err(e) => {
                    busy.push(slot);
                    last_error = Some(e);
                }
            }
        };
        inner.free_slots.extend(busy);
        match (claimed, last_error) {
            (Some(claimed), _) => Ok(claimed),
            (None, Some(e)) => Err(e),
            (None, None) => Err(StartError::NoSlot(inner.running.len())),
        }
    }

    pub(super) fn bind(&self, slot: usize) -> Result<Option<BoundPort>, StartError> {
        let Some(ports) = self.ports else {
            return Ok(None);
        };
        let port = u32::from(ports.base).saturating_add(u32::try_from(slot).unwrap_or(u32::MAX));
        let fail = |reason: String| StartError::Port { port, reason };
        let port16 = u16::try_from(port).map_err(|_| fail("past port 65535".into()))?;
        BoundPort::bind(ports.ip, port16)
            .map(Some)
            .map_err(|e| fail(e.to_string()))
    }
}
