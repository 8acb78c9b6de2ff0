//! The windows of a scenario's changes to the environment, for the run events: each change
//! opens one (`fault-applied`) and the scenario or the rollback closes it (`fault-removed`).
//! The report's timeline draws them as bands.

use super::journal::Undo;
use crate::env::FaultId;
use crate::run::events::{EventKind, EventSender, FaultKind, RemovedBy};

/// What closes a window: the undo of the change, by the scenario or by the rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowKey {
    /// A workload's replica count differs from the one before the scenario.
    Scale(String),
    /// A workload's network is blocked.
    Block(String),
    /// A pod of a workload was deleted; its replacement is not known ready yet.
    PodDeleted(String),
    /// A fault is in place.
    Fault(FaultId),
    /// A load runs.
    Load(u64),
}

impl WindowKey {
    /// The key an undo step closes.
    pub fn of(undo: &Undo) -> Option<Self> {
        Some(match undo {
            Undo::Scale { workload, .. } => Self::Scale(workload.clone()),
            Undo::Unblock { workload } => Self::Block(workload.clone()),
            Undo::WaitReady { workload } => Self::PodDeleted(workload.clone()),
            Undo::RemoveFault { id, .. } => Self::Fault(*id),
            Undo::StopLoad { id, .. } => Self::Load(*id),
            Undo::Http(_) => return None,
        })
    }

    fn kind(&self) -> FaultKind {
        match self {
            Self::Scale(_) => FaultKind::Scale,
            Self::Block(_) => FaultKind::Block,
            Self::PodDeleted(_) => FaultKind::PodDeleted,
            Self::Fault(_) => FaultKind::Network,
            Self::Load(_) => FaultKind::Load,
        }
    }
}

/// The open windows of one scenario.
#[derive(Debug, Clone, Default)]
pub struct FaultWindows {
    next: u64,
    open: Vec<(u64, WindowKey)>,
}

impl FaultWindows {
    /// Opens a window for `key` on `workload`, and emits `fault-applied`.
    pub fn open(&mut self, events: &EventSender, key: WindowKey, workload: &str, label: String) {
        self.next += 1;
        events.emit(EventKind::FaultApplied {
            fault: self.next,
            workload: workload.to_owned(),
            kind: key.kind(),
            label,
        });
        self.open.push((self.next, key));
    }

    /// Closes every open window of `key`, emitting `fault-removed` for each.
    pub fn close(&mut self, events: &EventSender, key: &WindowKey, by: RemovedBy) {
        self.open.retain(|(fault, open)| {
            let closing = open == key;
            if closing {
                events.emit(EventKind::FaultRemoved { fault: *fault, by });
            }
            !closing
        });
    }

    /// The rollback carried out `undo`: closes its windows.
    pub fn undone(&mut self, undo: &Undo, events: &EventSender) {
        if let Some(key) = WindowKey::of(undo) {
            self.close(events, &key, RemovedBy::Rollback);
        }
    }

    /// The rollback ended: closes what is still open.
    pub fn close_all(&mut self, events: &EventSender) {
        for (fault, _) in self.open.drain(..) {
            events.emit(EventKind::FaultRemoved {
                fault,
                by: RemovedBy::Rollback,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rollback_closes_the_windows_of_its_undo() {
        let events = EventSender::detached();
        let mut windows = FaultWindows::default();
        windows.open(
            &events,
            WindowKey::Scale("mongodb".into()),
            "mongodb",
            "x".into(),
        );
        windows.open(
            &events,
            WindowKey::Block("mongodb".into()),
            "mongodb",
            "y".into(),
        );
        windows.undone(
            &Undo::Unblock {
                workload: "mongodb".into(),
            },
            &events,
        );
        assert_eq!(windows.open.len(), 1);
        assert_eq!(windows.open[0], (1, WindowKey::Scale("mongodb".into())));
        windows.close_all(&events);
        assert!(windows.open.is_empty());
    }
}
