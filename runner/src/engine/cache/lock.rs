//! A lock file that makes concurrent runners take turns at one expensive build (compiling a
//! component, building a Python package), so that the second reuses the first's result
//! instead of doing the same work beside it. Runs in parallel on one machine (CI partitions,
//! a run beside a `list`) are the case it is for.
//!
//! The lock is advisory (`flock` on Unix) and is released when the value is dropped or the
//! process ends, so a crashed runner never leaves it held.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct BuildLock {
    _file: File,
}

impl BuildLock {
    /// Takes the lock at `path` (created if missing), waiting while another process holds it;
    /// `waiting` is called once, before waiting, so the caller can say why it pauses.
    pub fn acquire(path: &Path, waiting: impl FnOnce()) -> std::io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                waiting();
                file.lock()?;
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep").join("x.lock");
        let first = BuildLock::acquire(&path, || panic!("nobody holds it yet")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut waited = false;
                let _second = BuildLock::acquire(&path, || waited = true).unwrap();
                tx.send(waited).unwrap();
            })
        };
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err(),
            "the second holder got the lock while the first held it"
        );
        drop(first);
        assert!(rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap());
        waiter.join().unwrap();
    }
}
