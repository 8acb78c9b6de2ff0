//! The faults in place on one proxy, in the order they were added.

use crate::fault::{ActiveFault, Fault, FaultError, FaultId, next_id};

/// The faults in place, oldest first: the order in which they act.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultTable {
    faults: Vec<ActiveFault>,
}

impl FaultTable {
    /// Checks `fault` and puts it after the others; returns its new id.
    pub fn add(&mut self, fault: Fault) -> Result<FaultId, FaultError> {
        let id = next_id();
        self.insert(id, fault)?;
        Ok(id)
    }

    /// Checks `fault` and puts it after the others under `id`, taken from
    /// [`crate::fault::next_id`]; an id already in place is refused.
    pub fn insert(&mut self, id: FaultId, fault: Fault) -> Result<(), FaultError> {
        fault.validate()?;
        if self.contains(id) {
            return Err(FaultError::Invalid(format!("id {id} is already in place")));
        }
        self.faults.push(ActiveFault { id, fault });
        Ok(())
    }

    /// Takes fault `id` out; `NotFound` when it is not in place.
    pub fn remove(&mut self, id: FaultId) -> Result<Fault, FaultError> {
        let at = self
            .faults
            .iter()
            .position(|f| f.id == id)
            .ok_or(FaultError::NotFound(id))?;
        Ok(self.faults.remove(at).fault)
    }

    /// Takes every fault out.
    pub fn clear(&mut self) {
        self.faults.clear();
    }

    /// Whether fault `id` is in place.
    pub fn contains(&self, id: FaultId) -> bool {
        self.faults.iter().any(|f| f.id == id)
    }

    /// The faults, oldest first.
    pub fn faults(&self) -> &[ActiveFault] {
        &self.faults
    }

    /// Whether no fault is in place.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultKind;

    #[test]
    fn faults_keep_their_order_and_are_removed_once() {
        let mut table = FaultTable::default();
        let a = table.add(Fault::new(FaultKind::Blackhole)).unwrap();
        let b = table
            .add(Fault::new(FaultKind::LimitData { bytes: 10 }))
            .unwrap();
        assert_ne!(a, b);
        let kinds: Vec<_> = table.faults().iter().map(|f| f.fault.kind.name()).collect();
        assert_eq!(kinds, ["blackhole", "limit-data"]);
        table.remove(a).unwrap();
        assert_eq!(table.remove(a), Err(FaultError::NotFound(a)));
        assert!(table.contains(b));
        assert!(
            table
                .add(Fault::new(FaultKind::Blackhole).toxicity(200))
                .is_err()
        );
        assert_eq!(table.faults().len(), 1);
    }
}
