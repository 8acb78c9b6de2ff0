//! The function store: Cranelift's incremental compilation cache on disk, one file per
//! compiled function, shared by every component the cache compiles.
//!
//! Why: a component that misses the whole-component cache is compiled function by function,
//! and most functions are the same from one component to the next. Every Python scenario
//! package carries the same CPython interpreter (its own code is data, not functions), and
//! every JavaScript one the same engine. With the store, a changed Python package compiles
//! only what differs: its first compile fills the store, the next ones read it back.
//!
//! Layout: `functions/<first two hex digits of the key>/<the key in hex>`, each file the
//! SHA-256 of the value followed by the value. A file whose checksum does not match is a miss
//! (Cranelift then compiles the function again), so a damaged file can never become machine
//! code. Files are written to a temporary name and renamed. Past [`MAX_BYTES`], the store is
//! emptied, so a long-lived cache outside `target/` does not grow without end. Its size is
//! measured once per process, after the first compile that added to it (walking tens of
//! thousands of files after every compile cost more than the store saved).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::CacheStore;

use super::to_hex;

/// How large the store may grow before it is emptied.
pub const MAX_BYTES: u64 = 1 << 30;

/// Cranelift's function cache, in a folder.
#[derive(Debug, Clone)]
pub struct FunctionStore {
    dir: PathBuf,
    /// Whether this process added a function since the store's size was last measured.
    grown: Arc<AtomicBool>,
    /// Whether this process measured the size already.
    measured: Arc<AtomicBool>,
}

impl FunctionStore {
    /// The store in `dir` (created on first insert).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            grown: Arc::default(),
            measured: Arc::default(),
        }
    }

    fn path_of(&self, key: &[u8]) -> PathBuf {
        let name = to_hex(key);
        let shard = name.get(..2).unwrap_or("00").to_owned();
        self.dir.join(shard).join(name)
    }

    /// Empties the store when it holds more than [`MAX_BYTES`]; a store that cannot be read
    /// is left alone. Only the first call after this process added to the store measures it.
    pub fn bound(&self) {
        if !self.grown.load(Ordering::Acquire) || self.measured.swap(true, Ordering::AcqRel) {
            return;
        }
        if size_of(&self.dir) <= MAX_BYTES {
            return;
        }
        let doomed = self
            .dir
            .with_extension(format!("doomed.{}", std::process::id()));
        if std::fs::rename(&self.dir, &doomed).is_ok() {
            let _ = std::fs::remove_dir_all(&doomed);
        }
    }
}

impl CacheStore for FunctionStore {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let mut bytes = std::fs::read(self.path_of(key)).ok()?;
        if bytes.len() < 32 || Sha256::digest(&bytes[32..])[..] != bytes[..32] {
            return None;
        }
        bytes.drain(..32);
        Some(Cow::Owned(bytes))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let path = self.path_of(key);
        let Some(shard) = path.parent() else {
            return false;
        };
        let tmp = path.with_extension(format!(
            "{}.{}.tmp",
            std::process::id(),
            rand::random::<u32>()
        ));
        let mut file = Vec::with_capacity(32 + value.len());
        file.extend_from_slice(&Sha256::digest(&value));
        file.extend_from_slice(&value);
        let written = std::fs::create_dir_all(shard)
            .and_then(|()| std::fs::write(&tmp, &file))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
            return false;
        }
        self.grown.store(true, Ordering::Release);
        true
    }
}

/// The bytes of the files one level of shards down in `dir`.
fn size_of(dir: &Path) -> u64 {
    let Ok(shards) = std::fs::read_dir(dir) else {
        return 0;
    };
    shards
        .filter_map(|s| std::fs::read_dir(s.ok()?.path()).ok())
        .flatten()
        .filter_map(|f| f.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_comes_back_and_a_damaged_one_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let store = FunctionStore::new(dir.path().join("functions"));
        assert!(store.get(b"key").is_none());
        assert!(store.insert(b"key", b"compiled code".to_vec()));
        assert_eq!(store.get(b"key").as_deref(), Some(&b"compiled code"[..]));
        let path = store.path_of(b"key");
        let mut bytes = std::fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(store.get(b"key").is_none(), "a damaged value is never used");
        std::fs::write(&path, b"short").unwrap();
        assert!(store.get(b"key").is_none());
    }

    #[test]
    fn an_unwritable_store_refuses_inserts_and_misses() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        let store = FunctionStore::new(blocker.join("functions"));
        assert!(!store.insert(b"key", vec![1, 2, 3]));
        assert!(store.get(b"key").is_none());
    }

    #[test]
    fn a_store_over_its_bound_is_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let store = FunctionStore::new(dir.path().join("functions"));
        assert!(store.insert(b"a", vec![0; 16]));
        FunctionStore::new(store.dir.clone()).bound();
        assert!(store.get(b"a").is_some(), "a small store is kept");
        let big = std::fs::File::create(store.path_of(b"a").with_file_name("big")).unwrap();
        big.set_len(MAX_BYTES + 1).unwrap();
        let reader = FunctionStore::new(store.dir.clone());
        reader.bound();
        assert!(
            store.get(b"a").is_some(),
            "a process that added nothing does not measure"
        );
        store.bound();
        assert!(store.get(b"a").is_none());
        assert!(!dir.path().join("functions").exists());
    }
}
